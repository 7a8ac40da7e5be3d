using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;
using Accel.Core.Transport;
using Accel.Edge.Listeners;
using Microsoft.Extensions.Logging.Abstractions;
using Accel.Core.Edges;
using Accel.Core.Transport.Tls;

namespace Accel.Edge.Tests.Listeners;

public class MigrationPortsTests
{
    [Fact]
    public async Task Redirect_NewDestination_OpensOneLocalPortPerDestination()
    {
        var identity = EndpointIdentities.CreateSelfSigned("client");
        await using var edge = new ClientEdge(TransportEngines.Resolve("ngtcp2"), new ClientEdgeSettings
        {
            Identity = identity,
            ServerEdges = new Dictionary<string, ServerEdgeTarget> { ["dc"] = new("dc", new IPEndPoint(IPAddress.Loopback, 9), new PeerTrust()) },
            ClientOptions = t => new TransportClientOptions { RemoteEndPoint = t.Address, Identity = identity, PeerTrust = t.Trust },
        });
        using var stop = new CancellationTokenSource();
        var ports = new MigrationPorts(edge, "dc", NullLogger.Instance);

        var first = ports.Redirect("10.20.30.40", 5901, IPAddress.Loopback, stop.Token);
        var again = ports.Redirect("10.20.30.40", 5901, IPAddress.Loopback, stop.Token);
        var other = ports.Redirect("10.20.30.41", 5901, IPAddress.Loopback, stop.Token);

        Assert.NotNull(first);
        Assert.Equal("127.0.0.1", first.Value.Host);
        Assert.Equal(first, again);
        Assert.NotEqual(first.Value.Port, other!.Value.Port);

        // The port is really listening on this edge.
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await probe.ConnectAsync(IPAddress.Loopback, first.Value.Port, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        await stop.CancelAsync();
    }
}
