using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;
using Accel.Core.Transport;
using Accel.Edge.Listeners;
using Microsoft.Extensions.Logging.Abstractions;
using Accel.Core.Edges;
using Accel.Core.Transport.Tls;

namespace Accel.Edge.Tests.Listeners;

public class ListenerBindTests
{
    [Fact]
    public async Task Bind_PortAlreadyListening_FailsInsteadOfSharingIt()
    {
        var identity = EndpointIdentities.CreateSelfSigned("client");
        await using var edge = new ClientEdge(TransportEngines.Resolve("ngtcp2"), new ClientEdgeSettings
        {
            Identity = identity,
            ServerEdges = new Dictionary<string, ServerEdgeTarget>(),
            ClientOptions = t => new TransportClientOptions { RemoteEndPoint = t.Address, Identity = identity, PeerTrust = t.Trust },
        });
        var first = new ExplicitListener(new IPEndPoint(IPAddress.Loopback, 0), edge, "dc", "10.0.0.1", 5900, NullLogger.Instance);
        using var socket = first.Bind();

        // A second edge (or anything else) on the same port must not silently take a share of the connections.
        var second = new ExplicitListener(first.LocalEndPoint!, edge, "dc", "10.0.0.1", 5900, NullLogger.Instance);
        var ex = Assert.Throws<SocketException>(() => second.Bind());
        Assert.Equal(SocketError.AddressAlreadyInUse, ex.SocketErrorCode);
    }
}
