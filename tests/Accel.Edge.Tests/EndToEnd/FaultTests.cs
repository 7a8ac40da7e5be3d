using System.Globalization;
using Accel.Edge.Commands;
using Accel.Edge.Demo;
using Accel.Edge.Tests.Lab;
using Accel.Core.Edges;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>Bad input and faults get a clear log line and a clean close; the edges and other sessions keep working.</summary>
[Collection(SpiceLabCollection.Name)]
public sealed class FaultTests(SpiceLabFixture lab)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Garbage_InsteadOfLinkHeader_IsClosedAndLogged_HealthySessionUnaffected()
    {
        var reply = await BashInBranchAsync($"exec 3<>/dev/tcp/127.0.0.1/{SpiceLabFixture.ExplicitPort}; printf 'GET / HTTP/1.1\\r\\n\\r\\n0123456789abcdef0123456789' >&3; timeout 10 cat <&3 | wc -c");

        Assert.Equal("0", reply.Trim());
        await lab.ClientEdge.WaitForLogAsync(l => l.Contains("is not SPICE", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task Client_DisconnectingDuringLink_DoesNotDisturbTheEdge()
    {
        for (var i = 0; i < 5; i++)
        {
            await BashInBranchAsync($"exec 3<>/dev/tcp/127.0.0.1/{SpiceLabFixture.ExplicitPort}; printf 'REDQ\\002\\000' >&3; exec 3>&-");
        }

        await AssertHealthyAsync();
        Assert.False(lab.ClientEdge.HasExited);
        Assert.False(lab.ServerEdge.HasExited);
    }

    [Fact]
    public async Task Connect_ToBackendNotAllowed_Gets403AndServerLogsWhy()
    {
        var status = await ConnectStatusAsync($"{lab.Lab.BackendIp}:22");

        Assert.StartsWith("HTTP/1.1 403", status, StringComparison.Ordinal);
        await lab.ServerEdge.WaitForLogAsync(l => l.Contains("not in the allow-list", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task Connect_ToBackendThatRefuses_Gets502()
    {
        var status = await ConnectStatusAsync($"{lab.Lab.BackendIp}:{SpiceLabFixture.RefusingPort}");

        Assert.StartsWith("HTTP/1.1 502", status, StringComparison.Ordinal);
        await lab.ServerEdge.WaitForLogAsync(l => l.Contains("ConnectionRefused", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Connect_NotConnectMethod_Gets405()
    {
        var status = await BashInBranchAsync($"exec 3<>/dev/tcp/127.0.0.1/{SpiceLabFixture.ConnectPort}; printf 'GET http://x/ HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' >&3; timeout 10 head -n1 <&3");
        Assert.StartsWith("HTTP/1.1 405", status.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnauthenticatedClientEdge_GetsNoChannel_AndTheRealOneKeepsWorking()
    {
        var ct = TestContext.Current.CancellationToken;
        var (cert, key) = KeygenCommand.Create("intruder", 1);
        lab.Write("intruder.crt", cert);
        lab.Write("intruder.key", key);
        var port = SpiceLabFixture.ExplicitPort + 5;
        lab.Write("intruder.json", lab.ClientConfig([lab.ServerPin], Path.Combine(lab.Dir, "intruder.crt"), Path.Combine(lab.Dir, "intruder.key"), port, allListeners: false));
        await using var intruder = await EdgeProcess.StartAsync(lab.Lab, lab.Lab.Branch, "intruder edge", "client", Path.Combine(lab.Dir, "intruder.json"), s_timeout);

        await Assert.ThrowsAnyAsync<Exception>(() => SpicyScreenshot.CaptureAsync("127.0.0.1", port, Path.Combine(lab.Dir, "intruder.ppm"), TimeSpan.FromSeconds(30), ct, netns: lab.Lab.Branch));

        await intruder.WaitForLogAsync(l => l.Contains("AuthenticationFailed", StringComparison.Ordinal) || l.Contains("could not be opened", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        await AssertHealthyAsync();
    }

    [Fact]
    public async Task WrongServerPin_ClientEdgeRefusesTheServer()
    {
        var ct = TestContext.Current.CancellationToken;
        var port = SpiceLabFixture.ExplicitPort + 6;
        lab.Write("wrongpin.json", lab.ClientConfig([Convert.ToBase64String(new byte[32])], explicitPort: port, allListeners: false));
        await using var edge = await EdgeProcess.StartAsync(lab.Lab, lab.Lab.Branch, "wrong-pin edge", "client", Path.Combine(lab.Dir, "wrongpin.json"), s_timeout);

        await Assert.ThrowsAnyAsync<Exception>(() => SpicyScreenshot.CaptureAsync("127.0.0.1", port, Path.Combine(lab.Dir, "wrongpin.ppm"), TimeSpan.FromSeconds(30), ct, netns: lab.Lab.Branch));
        await edge.WaitForLogAsync(l => l.Contains("AuthenticationFailed", StringComparison.Ordinal) || l.Contains("could not be opened", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
    }

    private async Task AssertHealthyAsync()
    {
        var (image, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", SpiceLabFixture.ExplicitPort, Path.Combine(lab.Dir, "healthy-" + Guid.NewGuid().ToString("N") + ".ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch);
        Assert.True(image.DistinctColours() > 2, "a healthy session through the edges must still show the desktop");
    }

    private Task<string> ConnectStatusAsync(string target)
        => BashInBranchAsync($"exec 3<>/dev/tcp/127.0.0.1/{SpiceLabFixture.ConnectPort.ToString(CultureInfo.InvariantCulture)}; printf 'CONNECT {target} HTTP/1.1\\r\\nHost: {target}\\r\\n\\r\\n' >&3; timeout 20 head -n1 <&3");

    private Task<string> BashInBranchAsync(string script)
        => Shell.RunAsync("ip", ["netns", "exec", lab.Lab.Branch, "bash", "-c", script], TimeSpan.FromSeconds(30));
}
