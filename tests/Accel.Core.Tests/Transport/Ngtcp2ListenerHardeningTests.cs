using System.Net;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// The ngtcp2 listener under a handshake flood, over real loopback UDP: the identity is loaded once.
/// </summary>
public sealed class Ngtcp2ListenerHardeningTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static TransportListenerOptions Server(Func<TransportListenerOptions, TransportListenerOptions> tune) => tune(new TransportListenerOptions
    {
        ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        Identity = TestIdentities.Server,
        PeerTrust = TestIdentities.Pin(TestIdentities.Client),
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    });

    private static TransportClientOptions Client(ITransportListener listener) => new()
    {
        RemoteEndPoint = listener.LocalEndPoint,
        Identity = TestIdentities.Client,
        PeerTrust = TestIdentities.Pin(TestIdentities.Server),
        HandshakeTimeout = TimeSpan.FromSeconds(20),
    };

    private static async Task<Ngtcp2Listener> ListenAsync(Func<TransportListenerOptions, TransportListenerOptions> tune) =>
        (Ngtcp2Listener)await new Ngtcp2Engine().ListenAsync(Server(tune), Ct);

    /// <summary>Connects a real client, checks a stream echoes through the server, and returns the server's side.</summary>
    private static async Task<(ITransportConnection Client, ITransportConnection Server)> ConnectAndEchoAsync(Ngtcp2Listener listener)
    {
        var accept = listener.AcceptAsync(Ct).AsTask();
        var client = await new Ngtcp2Engine().ConnectAsync(Client(listener), Ct).AsTask().WaitAsync(Timeout, Ct);
        var server = await accept.WaitAsync(Timeout, Ct);
        var outbound = await client.OpenStreamAsync(StreamDirection.Bidirectional, 1, Ct);
        await outbound.WriteAsync("ping"u8.ToArray(), completeWrites: true, Ct);
        var inbound = await server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        var buffer = new byte[16];
        var n = await inbound.ReadAsync(buffer, Ct).AsTask().WaitAsync(Timeout, Ct);
        Assert.Equal("ping"u8.ToArray(), buffer[..n]);
        await outbound.DisposeAsync();
        await inbound.DisposeAsync();
        return (client, server);
    }

    [Fact]
    public async Task Listener_ThreeConnections_ShareTheCredentialsImportedOnce()
    {
        await using var listener = await ListenAsync(o => o);
        var connections = new List<ITransportConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var (client, server) = await ConnectAndEchoAsync(listener);
                connections.Add(client);
                connections.Add(server);
                Assert.Same(listener.Credentials, ((Ngtcp2Connection)server).Native.Credentials);
            }

            // Each client edge loads its own identity; only the listener's is shared.
            Assert.NotSame(((Ngtcp2Connection)connections[0]).Native.Credentials, ((Ngtcp2Connection)connections[2]).Native.Credentials);
        }
        finally
        {
            foreach (var c in connections)
            {
                await c.DisposeAsync();
            }
        }
    }
}
