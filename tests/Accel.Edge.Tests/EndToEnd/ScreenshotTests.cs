using System.Globalization;
using Accel.Edge.Demo;
using Accel.Edge.Tests.Lab;
using Accel.Core.Edges;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>spice-gtk sees through every way in exactly what it sees directly.</summary>
[Collection(SpiceLabCollection.Name)]
public sealed class ScreenshotTests(SpiceLabFixture lab)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Screenshot_ThroughExplicitListener_MatchesDirectPixelForPixel()
    {
        var direct = await DirectAsync();
        var (through, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", SpiceLabFixture.ExplicitPort, Path.Combine(lab.Dir, "explicit.ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch);

        Assert.True(direct.DistinctColours() > 2, "the direct picture is blank");
        Assert.Equal((direct.Width, direct.Height), (through.Width, through.Height));
        Assert.Equal(0, direct.CountDifferentPixels(through));
    }

    [Fact]
    public async Task Screenshot_ThroughConnectProxy_MatchesDirectPixelForPixel()
    {
        var direct = await DirectAsync();
        var env = new Dictionary<string, string> { ["SPICE_PROXY"] = $"http://127.0.0.1:{SpiceLabFixture.ConnectPort}" };
        var (through, _) = await SpicyScreenshot.CaptureAsync(lab.Lab.BackendIp, SpiceLabFixture.SpicePort, Path.Combine(lab.Dir, "connect.ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch, environment: env);

        Assert.Equal(0, direct.CountDifferentPixels(through));
    }

    [Fact]
    public async Task Screenshot_TransparentRedirect_MatchesDirectPixelForPixel()
    {
        var direct = await DirectAsync();

        // Straight at the backend's own address from the branch: only the nftables redirect gets it anywhere.
        RgbImage through;
        try
        {
            (through, _) = await SpicyScreenshot.CaptureAsync(lab.Lab.BackendIp, SpiceLabFixture.SpicePort, Path.Combine(lab.Dir, "transparent.ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException(ex.Message + "\nclient edge log:\n" + lab.ClientEdge.Log + "\nserver edge log:\n" + lab.ServerEdge.Log, ex);
        }

        Assert.Equal(0, direct.CountDifferentPixels(through));
        await lab.ClientEdge.WaitForLogAsync(l => l.Contains("transparent", StringComparison.OrdinalIgnoreCase), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Screenshot_ToTlsBackend_ServerEdgeIsTheTlsClient_MatchesDirect()
    {
        var direct = await DirectAsync();

        // Plain SPICE to the client edge; the server edge speaks TLS to Xspice's TLS port and checks its CA.
        var (through, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", SpiceLabFixture.TlsExplicitPort, Path.Combine(lab.Dir, "tls-backend.ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch);

        Assert.Equal(0, direct.CountDifferentPixels(through));
    }

    [Fact]
    public async Task Screenshot_ClientTlsEndToEnd_ThroughConnectProxy_MatchesDirect()
    {
        var direct = await DirectAsync();

        // As a Proxmox .vv file asks: TLS port, CA, and an HTTP CONNECT proxy. The edges carry the TLS opaque.
        // spice-gtk trusts OpenSSL's default store when no CA is given; SSL_CERT_FILE points it at the SPICE CA.
        var env = new Dictionary<string, string>
        {
            ["SPICE_PROXY"] = $"http://127.0.0.1:{SpiceLabFixture.ConnectPort}",
            ["SSL_CERT_FILE"] = Path.Combine(lab.Dir, "spice-ca.pem"),
        };
        var (through, _) = await SpicyScreenshot.CaptureAsync(lab.Lab.BackendIp, 0, Path.Combine(lab.Dir, "tls-e2e.ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch, environment: env, securePort: SpiceLabFixture.TlsPort);

        Assert.Equal(0, direct.CountDifferentPixels(through));
    }

    [Fact]
    public async Task Branch_WithoutEdges_CannotReachBackend()
    {
        // The lab is honest: the data centre does not forward, so a direct connection from the branch to the backend
        // (here to a port the nftables rule leaves alone) times out instead of being answered or refused.
        var forward = await Shell.InNsAsync(lab.Lab.Dc, "sysctl", "-n", "net.ipv4.ip_forward");
        Assert.Equal("0", forward.Trim());
        var probe = await Shell.RunAsync("ip", ["netns", "exec", lab.Lab.Branch, "bash", "-c", $"timeout 3 bash -c '</dev/tcp/{lab.Lab.BackendIp}/{SpiceLabFixture.RefusingPort}' 2>&1; echo rc=$?"], TimeSpan.FromSeconds(20));
        Assert.Contains("rc=124", probe, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_AfterSessions_ShowBytesPerChannelAndDirection()
    {
        _ = await SpicyScreenshot.CaptureAsync("127.0.0.1", SpiceLabFixture.ExplicitPort, Path.Combine(lab.Dir, "m.ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch);
        var text = await Shell.InNsAsync(lab.Lab.Branch, "curl", "-sf", $"http://127.0.0.1:{SpiceLabFixture.MetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics");

        Assert.Contains("spiceaccel_relay_bytes", text, StringComparison.Ordinal);
        Assert.Contains("channel=\"display\"", text, StringComparison.Ordinal);
        Assert.Contains("direction=\"to_client\"", text, StringComparison.Ordinal);
        Assert.Contains("spiceaccel_quic_rtt_smoothed", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerEdge_RetryAlways_ClientEdgeConnectedThroughRetry()
    {
        var engine = Environment.GetEnvironmentVariable("E2E_SERVER_ENGINE") is { Length: > 0 } e ? e : "auto";
        if (engine == "msquic" || (engine == "auto" && System.Net.Quic.QuicListener.IsSupported))
        {
            Assert.Skip("the server edge runs msquic, which applies its own Retry; Server:Handshakes is ngtcp2's");
        }

        _ = await SpicyScreenshot.CaptureAsync("127.0.0.1", SpiceLabFixture.ExplicitPort, Path.Combine(lab.Dir, "retry.ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Branch);
        var text = await Shell.InNsAsync(lab.Lab.Dc, "curl", "-sf", $"http://127.0.0.1:{SpiceLabFixture.MetricsPort.ToString(CultureInfo.InvariantCulture)}/metrics");

        var retries = System.Text.RegularExpressions.Regex.Match(text, @"^spiceaccel_quic_retries_total (\S+)$", System.Text.RegularExpressions.RegexOptions.Multiline);
        Assert.True(retries.Success, "spiceaccel_quic_retries_total is not exported by the server edge");
        Assert.True(double.Parse(retries.Groups[1].Value, CultureInfo.InvariantCulture) >= 1, "no Retry was sent: " + retries.Value);
        Assert.DoesNotContain("reason=\"invalid_token\"", text, StringComparison.Ordinal);
    }

    private async Task<RgbImage> DirectAsync()
    {
        var (direct, _) = await SpicyScreenshot.CaptureAsync(lab.Lab.BackendIp, SpiceLabFixture.SpicePort, Path.Combine(lab.Dir, "direct-" + Guid.NewGuid().ToString("N") + ".ppm"), s_timeout, TestContext.Current.CancellationToken, netns: lab.Lab.Dc);
        return direct;
    }
}
