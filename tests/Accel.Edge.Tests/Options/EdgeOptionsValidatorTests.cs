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
    [InlineData("CONNECT 10.0.0.5:5930 HTTP/1.1\r\nHost: 10.0.0.5:5930", true, "10.0.0.5", 5930)]
    [InlineData("CONNECT [fd00::5]:5900 HTTP/1.0", true, "fd00::5", 5900)]
    [InlineData("CONNECT spice.example:5901 HTTP/1.1\r\nProxy-Connection: keep-alive", true, "spice.example", 5901)]
    public void TryParseConnect_ValidRequest_GivesTarget(string head, bool ok, string host, int port)
    {
        Assert.Equal(ok, ConnectProxyListener.TryParseConnect(System.Text.Encoding.ASCII.GetBytes(head), out var h, out var p, out _));
        Assert.Equal(host, h);
        Assert.Equal(port, p);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1", "method")]
    [InlineData("CONNECT host HTTP/1.1", "target is not host:port")]
    [InlineData("CONNECT host:99999 HTTP/1.1", "target is not host:port")]
    [InlineData("garbage", "malformed request line")]
    [InlineData("CONNECT a:1 SPDY/3", "malformed request line")]
    public void TryParseConnect_BadRequest_SaysWhy(string head, string problem)
    {
        Assert.False(ConnectProxyListener.TryParseConnect(System.Text.Encoding.ASCII.GetBytes(head), out _, out _, out var why));
        Assert.Equal(problem, why);
    }
}
