using System.Net;
using System.Net.Sockets;
using System.Text;
using Accel.Core.Edges;
using Accel.Core.Transport;

namespace Accel.Core.Tests.Relay;

/// <summary>The server edge's way to a backend through an upstream CONNECT proxy: allow-list and answers.</summary>
public sealed class BackendConnectorTests
{
    private const string PveTarget = "pvespiceproxy:6571ab2c::e3b0c44298fc1c149afbf4c8996fb92427ae41e4:100:pve1:61000";

    [Fact]
    public async Task Connect_OpaqueTargetWithoutUpstream_NotAllowed()
    {
        var connector = new BackendConnector(new ServerEdgeSettings { AllowList = new AllowList(["127.0.0.0/8:*"]) });
        var result = await connector.ConnectAsync(EdgeRequest.ForOpaqueTarget(PveTarget, ChannelClasses.Main, 0), TestContext.Current.CancellationToken);

        Assert.Null(result.Socket);
        Assert.Equal(EdgeStatus.NotAllowed, result.Status);
        Assert.Contains("Server:UpstreamProxy", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_UpstreamNotInAllowList_NotAllowedAndNeverContacted()
    {
        using var proxy = Listen();
        var connector = new BackendConnector(new ServerEdgeSettings
        {
            AllowList = new AllowList(["127.0.0.1/32:1"]),
            UpstreamProxy = new UpstreamProxy((IPEndPoint)proxy.LocalEndPoint!, new AllowList([])),
        });
        var result = await connector.ConnectAsync(EdgeRequest.ForOpaqueTarget(PveTarget, ChannelClasses.Main, 0), TestContext.Current.CancellationToken);

        Assert.Equal(EdgeStatus.NotAllowed, result.Status);
        Assert.Contains("is not in the allow-list", result.Reason, StringComparison.Ordinal);
        Assert.False(proxy.Poll(0, SelectMode.SelectRead), "the proxy must not have been contacted");
    }

    [Theory]
    [InlineData("HTTP/1.1 200 Connection established\r\n\r\n", EdgeStatus.Ok)]
    [InlineData("HTTP/1.0 200 OK\r\nX: y\r\n\r\n", EdgeStatus.Ok)]
    [InlineData("HTTP/1.1 403 Access violation\r\n\r\n", EdgeStatus.NotAllowed)]
    [InlineData("HTTP/1.1 504 Timeout\r\n\r\n", EdgeStatus.BackendUnreachable)]
    [InlineData("HTTP/1.1 500 Unable to connect\r\n\r\n", EdgeStatus.BackendRefused)]
    [InlineData("SSH-2.0-OpenSSH\r\n\r\n", EdgeStatus.BackendRefused)]
    public async Task Connect_OpaqueTarget_SendsItVerbatimAndMapsTheAnswer(string answer, EdgeStatus expected)
    {
        var ct = TestContext.Current.CancellationToken;
        using var proxy = Listen();
        var connector = new BackendConnector(new ServerEdgeSettings
        {
            AllowList = new AllowList([$"127.0.0.1/32:{((IPEndPoint)proxy.LocalEndPoint!).Port}"]),
            UpstreamProxy = new UpstreamProxy((IPEndPoint)proxy.LocalEndPoint!, new AllowList([])),
        });
        var connecting = connector.ConnectAsync(EdgeRequest.ForOpaqueTarget(PveTarget, ChannelClasses.Main, 0), ct);
        using var accepted = await proxy.AcceptAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
        var head = await ReadHeadAsync(accepted, ct);
        await accepted.SendAsync(Encoding.ASCII.GetBytes(answer + (expected == EdgeStatus.Ok ? "REDQ" : string.Empty)), SocketFlags.None, ct);
        var result = await connecting.WaitAsync(TimeSpan.FromSeconds(10), ct);
        result.Socket?.Dispose();

        Assert.StartsWith($"CONNECT {PveTarget} HTTP/1.1\r\nHost: {PveTarget}\r\n", head, StringComparison.Ordinal);
        Assert.Equal(expected, result.Status);
        Assert.Equal(expected == EdgeStatus.Ok, result.Socket is not null);
        Assert.Null(result.Target);
        Assert.Equal(expected == EdgeStatus.Ok ? "REDQ" : string.Empty, Encoding.ASCII.GetString(result.Prefix.Span));
    }

    [Fact]
    public async Task Connect_HostPortBackendMatchedByUpstream_GoesThroughItByAddress()
    {
        var ct = TestContext.Current.CancellationToken;
        using var proxy = Listen();
        var proxyPort = ((IPEndPoint)proxy.LocalEndPoint!).Port;
        var connector = new BackendConnector(new ServerEdgeSettings
        {
            AllowList = new AllowList([$"127.0.0.1/32:{proxyPort}", "10.9.8.7/32:5930"]),
            UpstreamProxy = new UpstreamProxy((IPEndPoint)proxy.LocalEndPoint!, new AllowList(["10.0.0.0/8:5900-5999"])),
        });
        var connecting = connector.ConnectAsync(new EdgeRequest("10.9.8.7", 5930, ChannelClasses.Main, 1), ct);
        using var accepted = await proxy.AcceptAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
        var head = await ReadHeadAsync(accepted, ct);
        await accepted.SendAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), SocketFlags.None, ct);
        var result = await connecting.WaitAsync(TimeSpan.FromSeconds(10), ct);
        result.Socket?.Dispose();

        Assert.StartsWith("CONNECT 10.9.8.7:5930 HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.Equal(EdgeStatus.Ok, result.Status);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.9.8.7"), 5930), result.Target);
    }

    [Fact]
    public async Task Connect_HostPortNotInAllowList_RefusedEvenWithUpstream()
    {
        using var proxy = Listen();
        var proxyPort = ((IPEndPoint)proxy.LocalEndPoint!).Port;
        var connector = new BackendConnector(new ServerEdgeSettings
        {
            AllowList = new AllowList([$"127.0.0.1/32:{proxyPort}"]),
            UpstreamProxy = new UpstreamProxy((IPEndPoint)proxy.LocalEndPoint!, new AllowList(["10.0.0.0/8:*"])),
        });
        var result = await connector.ConnectAsync(new EdgeRequest("10.9.8.7", 22, ChannelClasses.Main, 1), TestContext.Current.CancellationToken);

        Assert.Equal(EdgeStatus.NotAllowed, result.Status);
        Assert.False(proxy.Poll(0, SelectMode.SelectRead), "the proxy must not have been contacted");
    }

    private static Socket Listen()
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        s.Listen(4);
        return s;
    }

    private static async Task<string> ReadHeadAsync(Socket socket, CancellationToken ct)
    {
        var buffer = new byte[4096];
        var filled = 0;
        while (buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8) < 0)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
            Assert.NotEqual(0, n);
            filled += n;
        }

        return Encoding.ASCII.GetString(buffer, 0, filled);
    }
}
