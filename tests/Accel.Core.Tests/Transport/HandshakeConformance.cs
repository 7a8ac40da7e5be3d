using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Transport;

/// <summary>Conformance, handshake and authentication: pins, CA bundles, refusals.</summary>
public abstract class HandshakeConformance<TEngine> : TransportConformance<TEngine>
    where TEngine : IEngineUnderTest
{
    // ---- Handshake and authentication ---------------------------------------------------------------------

    [Fact]
    public async Task Handshake_MutualPins_NegotiatesAlpnAndExposesPeerKeys()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();

        Assert.Equal(TransportOptions.DefaultAlpn, pair.Client.NegotiatedAlpn);
        Assert.Equal(TransportOptions.DefaultAlpn, pair.Server.NegotiatedAlpn);
        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(TestIdentities.Server.CertificatePem), pair.Client.PeerSpkiSha256.ToArray());
        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(TestIdentities.Client.CertificatePem), pair.Server.PeerSpkiSha256.ToArray());
        Assert.Equal(pair.Listener.LocalEndPoint, pair.Client.RemoteEndPoint);
    }

    [Fact]
    public async Task Connect_ClientPinsAnotherServer_FailsWithAuthenticationFailedAndListenerYieldsNothing()
    {
        RequireEngine();
        await using var listener = await Engine.ListenAsync(ServerOptions(), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await Assert.ThrowsAsync<TransportException>(() =>
            Engine.ConnectAsync(ClientOptions(listener, trust: TestIdentities.Pin(TestIdentities.Stranger)), Ct).AsTask().WaitAsync(Timeout, Ct));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Connect_ServerPinsAnotherClient_ClientFailsAndListenerYieldsNothing()
    {
        RequireEngine();
        await using var listener = await Engine.ListenAsync(ServerOptions(trust: TestIdentities.Pin(TestIdentities.Stranger)), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await ConnectRefusedAsync(ClientOptions(listener));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Connect_ClientPresentsNoCertificate_IsRefused()
    {
        RequireEngine();
        await using var listener = await Engine.ListenAsync(ServerOptions(), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await ConnectRefusedAsync(ClientOptions(listener, identity: new EndpointIdentity(string.Empty, string.Empty)));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Handshake_CaBundleTrust_AcceptsCertificatesIssuedByTheCa()
    {
        RequireEngine();
        using var ca = new TestIdentities.TestCa("test-ca");
        var trust = new PeerTrust { CaBundlePem = ca.CertificatePem };
        var serverIdentity = ca.Issue("server");
        var clientIdentity = ca.Issue("client");

        await using var pair = await ConnectAsync(
            s => s with { Identity = serverIdentity, PeerTrust = trust },
            c => c with { Identity = clientIdentity, PeerTrust = trust });

        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(serverIdentity.CertificatePem), pair.Client.PeerSpkiSha256.ToArray());
        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(clientIdentity.CertificatePem), pair.Server.PeerSpkiSha256.ToArray());
    }

    [Fact]
    public async Task Handshake_CaBundleTrust_RefusesCertificateFromAnotherCa()
    {
        RequireEngine();
        using var ca = new TestIdentities.TestCa("test-ca");
        using var other = new TestIdentities.TestCa("other-ca");
        await using var listener = await Engine.ListenAsync(ServerOptions(ca.Issue("server"), new PeerTrust { CaBundlePem = ca.CertificatePem }), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await ConnectRefusedAsync(ClientOptions(listener, other.Issue("client"), new PeerTrust { CaBundlePem = ca.CertificatePem }));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Connect_NothingListening_FailsWithConnectionRefusedWithinTheHandshakeTimeout()
    {
        RequireEngine();
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var silent = (IPEndPoint)probe.LocalEndPoint!;
        var options = new TransportClientOptions
        {
            RemoteEndPoint = silent,
            Identity = TestIdentities.Client,
            PeerTrust = TestIdentities.Pin(TestIdentities.Server),
            HandshakeTimeout = TimeSpan.FromSeconds(1),
        };
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TransportException>(() => Engine.ConnectAsync(options, Ct).AsTask().WaitAsync(Timeout, Ct));

        Assert.Equal(TransportError.ConnectionRefused, error.Error);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"took {watch.Elapsed}");
    }

    /// <summary>
    /// A handshake the server refuses: ConnectAsync fails, or the connection it returned closes with the error.
    /// In TLS 1.3 the client has finished its handshake before the server checks the client's certificate; ngtcp2
    /// waits for HANDSHAKE_DONE before it returns, System.Net.Quic returns at the client's Finished and has no
    /// handshake-confirmed signal, so the refusal reaches an MsQuic client one round trip later, as the close.
    /// </summary>
    private async Task<TransportException> ConnectRefusedAsync(TransportClientOptions options)
    {
        ITransportConnection connection;
        try
        {
            connection = await Engine.ConnectAsync(options, Ct).AsTask().WaitAsync(Timeout, Ct);
        }
        catch (TransportException ex)
        {
            return ex;
        }

        await using (connection)
        {
            return await connection.Closed.WaitAsync(Timeout, Ct);
        }
    }

    private static async Task AssertNoAcceptAsync(Task<ITransportConnection> accept)
    {
        // The handshake has already failed on the client; give the listener a moment to (wrongly) yield it.
        var winner = await Task.WhenAny(accept, Task.Delay(TimeSpan.FromMilliseconds(500), Ct));
        Assert.NotSame(accept, winner);
    }
}
