using Accel.Core.Spice.Display;
using Accel.Edge.Hosting;
using Accel.Edge.Listeners;
using Accel.Edge.Options;
using Microsoft.Extensions.Configuration;
using Accel.Core.Edges;

namespace Accel.Edge.Tests.Options;

public class EdgeOptionsValidatorTests
{
    [Fact]
    public void Validate_EmptyServerConfig_NamesEveryMissingKey()
    {
        var result = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, new EdgeOptions());
        Assert.True(result.Failed);
        var text = string.Join('\n', result.Failures!);
        Assert.Contains("Identity:CertificateFile", text, StringComparison.Ordinal);
        Assert.Contains("Server:ClientPins", text, StringComparison.Ordinal);
        Assert.Contains("Server:AllowedBackends", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BadValues_SayWhichKeyAndWhy()
    {
        var o = new EdgeOptions();
        o.Transport.Engine = "quiche";
        o.Transport.IdleTimeout = TimeSpan.FromHours(5);
        o.Server.Listen = "nowhere";
        o.Server.ClientPins.Add("0", "not-base64");
        o.Server.AllowedBackends.Add("10.0.0.0/8");
        var failures = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, o).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("Transport:Engine: 'quiche'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Transport:IdleTimeout", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Server:Listen: 'nowhere'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Server:ClientPins:0:", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Server:AllowedBackends:0:", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_LimitsOutOfRange_NameTheKey()
    {
        var o = new ConfigurationBuilder().AddCommandLine([
            "--Limits:MaxChannelsPerConnection=0", "--Limits:MaxChannelsPerSession=5000", "--Limits:MaxConnectionsPerPeer=0",
            "--Limits:RequestTimeout=00:00:00", "--Limits:LinkTimeout=00:10:00", "--Limits:ConnectHeadTimeout=00:00:00",
            "--Limits:StallTimeout=00:00:00", "--Limits:TcpKeepAlive=03:00:00"]).Build().Get<EdgeOptions>()!;
        var failures = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, o).Failures!.ToList();

        foreach (var key in new[] { "MaxChannelsPerConnection", "MaxChannelsPerSession", "MaxConnectionsPerPeer", "RequestTimeout", "LinkTimeout", "ConnectHeadTimeout", "StallTimeout", "TcpKeepAlive" })
        {
            Assert.Contains(failures, f => f.StartsWith("Limits:" + key, StringComparison.Ordinal));
        }

        var defaults = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, new EdgeOptions()).Failures!;
        Assert.DoesNotContain(defaults, f => f.StartsWith("Limits:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void TransportEventLoops_OutsideOneTo64_NamesTheKeyAndTheRange(int loops)
    {
        var o = new ConfigurationBuilder().AddCommandLine(["--Transport:EventLoops=" + loops]).Build().Get<EdgeOptions>()!;
        var failures = new EdgeOptionsValidator(EdgeRole.Client).Validate(null, o).Failures!.ToList();

        Assert.Contains("Transport:EventLoops: must be 1 to 64 event-loop threads (default: one per core)", failures);
        Assert.Equal(Math.Clamp(Environment.ProcessorCount, 1, 64), new EdgeOptions().Transport.EventLoops);
        var engine = EngineFactory.Create("ngtcp2", null, 3);
        Assert.Equal(3, ((Accel.Core.Transport.Ngtcp2.Ngtcp2Engine)engine).EventLoops);
    }

    [Fact]
    public void ServerHandshakes_CommandLine_BindValidateAndReachTheListener()
    {
        var o = new ConfigurationBuilder().AddCommandLine([
            "--Server:Handshakes:MaxHalfOpen=64", "--Server:Handshakes:Retry=always",
            "--Server:Handshakes:RetryAbovePerSecond=10", "--Server:Handshakes:RetryAboveHalfOpen=8"]).Build().Get<EdgeOptions>()!;
        o.Server.Listen = "127.0.0.1:4433";
        var listener = TransportOptionsFactory.Listener(o, new Accel.Core.Transport.EndpointIdentity("", ""), new Accel.Core.Transport.Tls.ReloadablePins([]));

        Assert.Equal(64, listener.MaxHalfOpenConnections);
        Assert.Equal(Accel.Core.Transport.ListenerRetryMode.Always, listener.Retry);
        Assert.Equal(10, listener.RetryAboveHandshakesPerSecond);
        Assert.Equal(8, listener.RetryAboveHalfOpen);
        var defaults = TransportOptionsFactory.Listener(new EdgeOptions(), new Accel.Core.Transport.EndpointIdentity("", ""), new Accel.Core.Transport.Tls.ReloadablePins([]));
        Assert.Equal((256, Accel.Core.Transport.ListenerRetryMode.Automatic), (defaults.MaxHalfOpenConnections, defaults.Retry));

        o.Server.Handshakes.Retry = "sometimes";
        o.Server.Handshakes.MaxHalfOpen = 0;
        var failures = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, o).Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("Server:Handshakes:Retry: 'sometimes' is not one of off, always, automatic", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Server:Handshakes:MaxHalfOpen", StringComparison.Ordinal));
    }

    [Fact]
    public void ServerDisplayCodec_CommandLine_BindsAndReachesRelaySettings()
    {
        var o = new ConfigurationBuilder().AddCommandLine(["--Server:DisplayCodec=lz4"]).Build().Get<EdgeOptions>()!;

        Assert.Equal("lz4", o.Server.DisplayCodec);
        Assert.Equal(DisplayCodec.Lz4, ServerEdgeService.RelaySettings(o.Server).DisplayCodec);
        Assert.Equal(DisplayCodec.Off, ServerEdgeService.RelaySettings(new ServerSection()).DisplayCodec);
    }

    [Fact]
    public void ServerDisplayBudgetEnabled_CommandLine_BindsAndReachesRelaySettings()
    {
        var off = new ConfigurationBuilder().AddCommandLine(["--Server:DisplayBudget:Enabled=false"]).Build().Get<EdgeOptions>()!;

        Assert.False(off.Server.DisplayBudget.Enabled);
        Assert.False(ServerEdgeService.RelaySettings(off.Server).DisplayBudget.Enabled);
        var byDefault = ServerEdgeService.RelaySettings(new ServerSection()).DisplayBudget;
        Assert.True(byDefault.Enabled);
        Assert.Equal(DisplayBudgetSettings.Default, byDefault);
    }

    [Fact]
    public void Validate_UnknownDisplayCodec_NamesTheKey()
    {
        var o = new EdgeOptions();
        o.Server.DisplayCodec = "h264";
        var failures = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, o).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("Server:DisplayCodec: 'h264'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_ClientListenerProblems_AreReportedPerListener()
    {
        var o = new EdgeOptions();
        o.Client.ServerEdges["dc"] = new ServerEdgeSection { Address = "edge:4433", Pins = [Convert.ToBase64String(new byte[32])] };
        o.Client.Listeners.Add(new ListenerSection { Mode = ListenerMode.Explicit, Listen = "127.0.0.1:5900", ServerEdge = "dc" });
        o.Client.Listeners.Add(new ListenerSection { Mode = ListenerMode.Connect, Listen = "127.0.0.1:3128", ServerEdge = "nope", Backend = "x:1" });
        var failures = new EdgeOptionsValidator(EdgeRole.Client).Validate(null, o).Failures!.ToList();

        Assert.Contains(failures, f => f.StartsWith("Client:Listeners:0:Backend", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Client:Listeners:1:ServerEdge: 'nope'", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Client:Listeners:1:Backend", StringComparison.Ordinal));
        Assert.DoesNotContain(failures, f => f.StartsWith("Client:ServerEdges", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("CONNECT 10.0.0.5:5930 HTTP/1.1\r\nHost: 10.0.0.5:5930", "10.0.0.5", 5930)]
    [InlineData("CONNECT [fd00::5]:5900 HTTP/1.0", "fd00::5", 5900)]
    [InlineData("CONNECT spice.example:5901 HTTP/1.1\r\nProxy-Connection: keep-alive", "spice.example", 5901)]
    public void TryParseConnect_HostPort_GivesTarget(string head, string host, int port)
    {
        Assert.True(ConnectProxyListener.TryParseConnect(System.Text.Encoding.ASCII.GetBytes(head), out var request, out _));
        Assert.False(request.IsOpaqueTarget);
        Assert.Equal(host, request.Host);
        Assert.Equal(port, request.Port);
    }

    [Theory]
    [InlineData("CONNECT pvespiceproxy:6571ab2c::e3b0c44298fc1c149afbf4c8996fb92427ae41e4:100:pve1:61000 HTTP/1.0", "pvespiceproxy:6571ab2c::e3b0c44298fc1c149afbf4c8996fb92427ae41e4:100:pve1:61000", 61000)]
    [InlineData("CONNECT host HTTP/1.1", "host", 0)]
    [InlineData("CONNECT host:99999 HTTP/1.1", "host:99999", 0)]
    public void TryParseConnect_NotHostPort_GivesOpaqueTargetVerbatim(string head, string target, int port)
    {
        Assert.True(ConnectProxyListener.TryParseConnect(System.Text.Encoding.ASCII.GetBytes(head), out var request, out _));
        Assert.True(request.IsOpaqueTarget);
        Assert.Equal(target, request.Host);
        Assert.Equal(port, request.Port);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1", "method")]
    [InlineData("garbage", "malformed request line")]
    [InlineData("CONNECT a:1 SPDY/3", "malformed request line")]
    public void TryParseConnect_BadRequest_SaysWhy(string head, string problem)
    {
        Assert.False(ConnectProxyListener.TryParseConnect(System.Text.Encoding.ASCII.GetBytes(head), out _, out var why));
        Assert.Equal(problem, why);
    }

    [Fact]
    public void TryParseConnect_OpaqueTargetTooLongOrNotAscii_IsBadRequest()
    {
        var tooLong = System.Text.Encoding.ASCII.GetBytes("CONNECT pvespiceproxy:" + new string('a', 250) + " HTTP/1.1");
        var notAscii = System.Text.Encoding.UTF8.GetBytes("CONNECT pvespiceproxy:\u00e9:1 HTTP/1.1");
        Assert.False(ConnectProxyListener.TryParseConnect(tooLong, out _, out var why));
        Assert.StartsWith("target is neither host:port", why, StringComparison.Ordinal);
        Assert.False(ConnectProxyListener.TryParseConnect(notAscii, out _, out _));
    }

    [Fact]
    public void Validate_UpstreamProxyNotAllowed_NamesKeyAndFix()
    {
        var o = ServerOptions();
        o.Server.UpstreamProxy.Address = "127.0.0.1:3128";
        var result = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, o);
        Assert.Contains(result.Failures!, f => f.StartsWith("Server:UpstreamProxy:Address: 127.0.0.1:3128 is not in Server:AllowedBackends; add 127.0.0.1/32:3128", StringComparison.Ordinal));

        o.Server.AllowedBackends.Add("127.0.0.1/32:3128");
        Assert.DoesNotContain(new EdgeOptionsValidator(EdgeRole.Server).Validate(null, o).Failures!, f => f.StartsWith("Server:UpstreamProxy", StringComparison.Ordinal));
        Assert.NotNull(ServerEdgeService.Upstream(o.Server.UpstreamProxy));
        Assert.Null(ServerEdgeService.Upstream(new UpstreamProxySection()));
    }

    [Fact]
    public void Validate_UpstreamBackendsWithoutAddress_Fails()
    {
        var o = ServerOptions();
        o.Server.UpstreamProxy.Backends.Add("10.0.0.0/8:5900");
        var result = new EdgeOptionsValidator(EdgeRole.Server).Validate(null, o);
        Assert.Contains(result.Failures!, f => f.StartsWith("Server:UpstreamProxy:Address: empty", StringComparison.Ordinal));
    }

    private static EdgeOptions ServerOptions()
    {
        var o = new EdgeOptions();
        o.Server.AllowedBackends.Add("10.0.0.0/8:5900");
        return o;
    }
}
