using System.Globalization;
using System.Text.RegularExpressions;
using Accel.Edge.Demo;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>
/// spice-server's network test (three PINGs after MAIN_INIT, the last with 250 KiB of padding) is answered by the
/// server edge: spicy-screenshot gets its screen, and the padding never crosses the WAN.
/// </summary>
[Collection(SpiceLabCollection.Name)]
public sealed partial class NetworkTestTests(SpiceLabFixture lab)
{
    private const int RatePingPadding = 250 * 1024;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Connect_ThroughBothEdges_NetworkTestIsAnsweredAtTheServerEdge_AndItsPaddingStaysOffTheWan()
    {
        var ct = TestContext.Current.CancellationToken;
        var (direct, _) = await SpicyScreenshot.CaptureAsync(lab.Lab.BackendIp, SpiceLabFixture.SpicePort, Path.Combine(lab.Dir, "nettest-direct.ppm"), s_timeout, ct, netns: lab.Lab.Dc);
        var before = await ServerEdgeMetricsAsync();

        var (through, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", SpiceLabFixture.ExplicitPort, Path.Combine(lab.Dir, "nettest.ppm"), s_timeout, ct, netns: lab.Lab.Branch);
        var after = await ServerEdgeMetricsAsync();

        Assert.True(direct.DistinctColours() > 2, "the direct picture is blank");
        Assert.Equal(0, direct.CountDifferentPixels(through));

        // The warm-up, latency and rate pings of this connect were answered here (spice-server skips none on TCP).
        var pongs = Value(after, "spiceaccel_acks_local_total", "kind=\"pong\"") - Value(before, "spiceaccel_acks_local_total", "kind=\"pong\"");
        Assert.True(pongs >= 3, $"the server edge answered {pongs} pings during the connect; spice-server's network test alone sends 3");

        // What the server edge forwarded on the main channel toward the client: far less than the rate ping alone.
        var main = Value(after, "spiceaccel_relay_bytes_total", "channel=\"main\"", "direction=\"to_client\"")
            - Value(before, "spiceaccel_relay_bytes_total", "channel=\"main\"", "direction=\"to_client\"");
        TestContext.Current.TestOutputHelper?.WriteLine($"main channel to the client: {main:0} bytes; pings answered at the server edge: {pongs:0}");
        Assert.True(main is > 0 and < RatePingPadding / 8, $"the main channel carried {main} bytes toward the client");
    }

    private static async Task<string> ServerEdgeMetricsAsync(SpiceLabFixture lab) => await Shell.InNsAsync(lab.Lab.Dc, "curl", "-sf",
        $"http://127.0.0.1:{SpiceLabFixture.MetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics");

    private Task<string> ServerEdgeMetricsAsync() => ServerEdgeMetricsAsync(lab);

    /// <summary>The sum of a metric's samples whose labels include all of <paramref name="labels"/> (0 when none is exported yet).</summary>
    private static double Value(string text, string name, params string[] labels)
    {
        double sum = 0;
        foreach (Match m in SampleRegex().Matches(text))
        {
            if (m.Groups["name"].Value == name && Array.TrueForAll(labels, l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            {
                sum += double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)\{(?<labels>[^}]*)\} (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex SampleRegex();
}
