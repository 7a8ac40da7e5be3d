using System.Net;
using System.Net.Sockets;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// The ngtcp2 listener under a handshake flood, over real loopback UDP: the identity is loaded once, half-open
/// handshakes are capped and counted, and stateless Retry (always, or automatic under load) lets a real client in.
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
        await using var listener = await ListenAsync(o => o with { Retry = ListenerRetryMode.Off });
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
            Assert.Equal(3, listener.Admission.Counters.Admitted);
        }
        finally
        {
            foreach (var c in connections)
            {
                await c.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task CaBundleTrust_ThreeHandshakes_ReuseTheParsedBundleAndAllAuthenticate()
    {
        using var ca = new TestIdentities.TestCa("hardening-ca");
        var trust = new PeerTrust { CaBundlePem = ca.CertificatePem };
        var clientIdentity = ca.Issue("client");
        await using var listener = (Ngtcp2Listener)await new Ngtcp2Engine().ListenAsync(Server(o => o) with { Identity = ca.Issue("server"), PeerTrust = trust }, Ct);
        for (var i = 0; i < 3; i++)
        {
            var accept = listener.AcceptAsync(Ct).AsTask();
            await using var client = await new Ngtcp2Engine().ConnectAsync(Client(listener) with { Identity = clientIdentity, PeerTrust = trust }, Ct).AsTask().WaitAsync(Timeout, Ct);
            await using var server = await accept.WaitAsync(Timeout, Ct);
            Assert.Equal(EndpointIdentities.ComputeSpkiSha256(clientIdentity.CertificatePem), server.PeerSpkiSha256.ToArray());
        }
    }

    [Fact]
    public async Task RetryAlways_RealClient_CompletesTheHandshakeThroughRetry()
    {
        await using var listener = await ListenAsync(o => o with { Retry = ListenerRetryMode.Always });

        var (client, server) = await ConnectAndEchoAsync(listener);
        await using (client)
        await using (server)
        {
            var counters = listener.Admission.Counters;
            Assert.True(counters.Retries >= 1, "no Retry was sent");
            Assert.Equal(1, counters.Admitted);
            Assert.Equal(0, counters.InvalidTokens);
            Assert.Equal(0, listener.Admission.HalfOpen);
        }
    }

    [Fact]
    public async Task HalfOpenCap_FloodOfForgedInitials_DropsTheExcessThenAdmitsARealClient()
    {
        // Forged handshakes stay half-open for the server's handshake timeout (2 s); the real client keeps
        // retransmitting its Initial and gets in once they have timed out.
        await using var listener = await ListenAsync(o => o with { Retry = ListenerRetryMode.Off, MaxHalfOpenConnections = 8, HandshakeTimeout = TimeSpan.FromSeconds(2) });
        var counters = listener.Admission.Counters;

        await ForgedInitials.SendAsync(listener.LocalEndPoint, TestIdentities.Client, 40);
        await counters.WaitAsync(c => c.Admitted + c.DroppedAtCap == 40, Ct).WaitAsync(Timeout, Ct);

        Assert.Equal(8, counters.Admitted);
        Assert.Equal(32, counters.DroppedAtCap);
        var (client, server) = await ConnectAndEchoAsync(listener);
        await using (client)
        await using (server)
        {
            Assert.Equal(9, counters.Admitted);
            Assert.InRange(listener.Admission.HalfOpen, 0, 7);
        }
    }

    [Fact]
    public async Task RetryAutomatic_FloodAboveHalfOpenThreshold_GetsRetryAndARealClientStillConnects()
    {
        await using var listener = await ListenAsync(o => o with
        {
            Retry = ListenerRetryMode.Automatic,
            RetryAboveHalfOpen = 4,
            RetryAboveHandshakesPerSecond = 100_000,
            MaxHalfOpenConnections = 8,
        });
        var counters = listener.Admission.Counters;

        await ForgedInitials.SendAsync(listener.LocalEndPoint, TestIdentities.Client, 40);
        await counters.WaitAsync(c => c.Admitted + c.Retries == 40, Ct).WaitAsync(Timeout, Ct);
        Assert.Equal(4, counters.Admitted);
        Assert.Equal(4, listener.Admission.HalfOpen);

        // The forged sources never answer their Retry; the real client does, and is admitted under the cap at once.
        var (client, server) = await ConnectAndEchoAsync(listener);
        await using (client)
        await using (server)
        {
            Assert.Equal(5, counters.Admitted);
            Assert.True(counters.Retries >= 37, "retries: " + counters.Retries);
            Assert.Equal(0, counters.DroppedAtCap);
        }
    }

    [Fact]
    public async Task RetryToken_Forged_IsDroppedAndCounted()
    {
        await using var listener = await ListenAsync(o => o with { Retry = ListenerRetryMode.Always });
        var token = new byte[60];
        Random.Shared.NextBytes(token);
        token[0] = 0xb7; // the magic byte of ngtcp2's Retry tokens: the rest does not decrypt
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        await socket.SendToAsync(ForgedInitials.WithToken(token), listener.LocalEndPoint, Ct);
        await listener.Admission.Counters.WaitAsync(c => c.InvalidTokens == 1, Ct).WaitAsync(Timeout, Ct);

        Assert.Equal(0, listener.Admission.Counters.Admitted);
        Assert.Equal(0, listener.Admission.Counters.Retries);
    }

    [Fact]
    public async Task RetryToken_FromAnotherSourcePort_IsDroppedAndCounted()
    {
        await using var listener = await ListenAsync(o => o with { Retry = ListenerRetryMode.Always });
        using var first = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        first.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var second = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        second.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var initial = (await ForgedInitials.CreateAsync(listener.LocalEndPoint, TestIdentities.Client, 1))[0];

        await first.SendToAsync(initial, listener.LocalEndPoint, Ct);
        var buffer = new byte[1500];
        var n = (await first.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), Ct).AsTask().WaitAsync(Timeout, Ct)).ReceivedBytes;
        var (scid, token) = ForgedInitials.ParseRetry(buffer.AsSpan(0, n));

        // The token names the first port: the same Initial echoing it from a second port (a spoofer replaying a token
        // it saw) is refused before any state is built.
        await second.SendToAsync(ForgedInitials.WithToken(token, scid), listener.LocalEndPoint, Ct);
        await listener.Admission.Counters.WaitAsync(c => c.InvalidTokens == 1, Ct).WaitAsync(Timeout, Ct);
        Assert.Equal(0, listener.Admission.Counters.Admitted);

        // From the first port it verifies (the payload is noise, so the handshake itself then fails at once).
        await first.SendToAsync(ForgedInitials.WithToken(token, scid), listener.LocalEndPoint, Ct);
        await listener.Admission.Counters.WaitAsync(c => c.Admitted == 1, Ct).WaitAsync(Timeout, Ct);
        Assert.Equal(1, listener.Admission.Counters.InvalidTokens);
    }
}
