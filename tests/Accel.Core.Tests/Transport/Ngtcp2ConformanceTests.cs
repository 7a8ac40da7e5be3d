using System.Net;
using System.Net.Sockets;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Microsoft.Extensions.Logging.Abstractions;

namespace Accel.Core.Tests.Transport;

/// <summary>The ngtcp2 engine under test. It must run here: a missing library fails, not skips.</summary>
public sealed class Ngtcp2UnderTest : IEngineUnderTest
{
    public static ITransportEngine Create() => new Ngtcp2Engine();

    public static bool MustRun => true;
}

/// <summary>The ngtcp2 engine with all its connections, both ends of every test, on one event loop.</summary>
public sealed class Ngtcp2OneLoopUnderTest : IEngineUnderTest
{
    public static ITransportEngine Create() => new Ngtcp2Engine(eventLoops: 1);

    public static bool MustRun => true;
}

/// <summary>The ngtcp2 engine on two event loops (the thread-count test).</summary>
public sealed class Ngtcp2TwoLoopsUnderTest : IEngineUnderTest
{
    public static ITransportEngine Create() => new Ngtcp2Engine(eventLoops: 2);

    public static bool MustRun => true;
}

public sealed class Ngtcp2HandshakeConformanceTests : HandshakeConformance<Ngtcp2UnderTest>;

public sealed class Ngtcp2OneLoopHandshakeConformanceTests : HandshakeConformance<Ngtcp2OneLoopUnderTest>;

public sealed class Ngtcp2OneLoopStreamConformanceTests : StreamConformance<Ngtcp2OneLoopUnderTest>;

public sealed class Ngtcp2OneLoopStreamAbortConformanceTests : StreamAbortConformance<Ngtcp2OneLoopUnderTest>;

public sealed class Ngtcp2OneLoopConnectionConformanceTests : ConnectionConformance<Ngtcp2OneLoopUnderTest>;

public sealed class Ngtcp2StreamConformanceTests : StreamConformance<Ngtcp2UnderTest>;

public sealed class Ngtcp2StreamAbortConformanceTests : StreamAbortConformance<Ngtcp2UnderTest>;

public sealed class Ngtcp2ConnectionConformanceTests : ConnectionConformance<Ngtcp2UnderTest>;

public sealed class Ngtcp2EngineTests
{
    [Fact]
    public void Engine_OnThisHost_IsSupportedAndReportsVersions()
    {
        var engine = new Ngtcp2Engine();

        Assert.True(engine.IsSupported, engine.UnsupportedReason);
        Assert.Equal("ngtcp2", engine.Name);
        Assert.StartsWith("ngtcp2 1.", engine.Version, StringComparison.Ordinal);
        Assert.Contains("GnuTLS 3.", engine.Version, StringComparison.Ordinal);
        Assert.Equal(["libngtcp2.so.16", "libngtcp2_crypto_gnutls.so.8", "libgnutls.so.30"], Ngtcp2Engine.NativeLibraries);
    }

    [Fact]
    public async Task Dispose_ConnectionNeverStarted_ClosesItsSocket()
    {
        // A connection no event loop has taken yet: dispose tears it down at once, or it would wait for a loop that
        // never runs it and leak the socket and the native connection.
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var remote = new IPEndPoint(IPAddress.Loopback, 9);
        var options = new TransportClientOptions { RemoteEndPoint = remote, Identity = TestIdentities.Client, PeerTrust = TestIdentities.Pin(TestIdentities.Server) };
        var connection = Ngtcp2Connection.CreateClient(options, new UdpEndpoint(socket, NullLogger.Instance), remote, new Ngtcp2EventLoopGroup(1, NullLogger.Instance), NullLogger.Instance);

        await connection.DisposeAsync();

        Assert.True(socket.SafeHandle.IsClosed);
        Assert.Equal(0, connection.Native.Conn);
    }

    /// <summary>
    /// A client edge's connection ID is zero-length: its socket is its own, and with IDs to count ngtcp2 1.11 at the
    /// server edge closed a connection that migrated right after a NAT rebinding (CONNECTION_ID_LIMIT_ERROR, issue #11;
    /// end to end in OutageTests.ClientRouteChange_RightAfterNatRebindings_SameConnectionSurvives).
    /// </summary>
    [Fact]
    public async Task Connect_ClientInitial_CarriesAZeroLengthSourceConnectionId()
    {
        var ct = TestContext.Current.CancellationToken;
        using var server = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        server.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var options = new TransportClientOptions { RemoteEndPoint = (IPEndPoint)server.LocalEndPoint!, Identity = TestIdentities.Client, PeerTrust = TestIdentities.Pin(TestIdentities.Server) };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var connect = new Ngtcp2Engine().ConnectAsync(options, stop.Token).AsTask();

        var initial = new byte[2048];
        var n = await server.ReceiveAsync(initial, SocketFlags.None, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connect.WaitAsync(TimeSpan.FromSeconds(10), ct));

        // RFC 9000 §17.2.2: first byte (long header, Initial), version (4 bytes), DCID length and DCID, SCID length and SCID.
        Assert.True(n >= 1200, $"an Initial is padded to 1200 bytes, got {n}");
        Assert.Equal(0xC0, initial[0] & 0xF0);
        var dcidLength = initial[5];
        Assert.Equal(18, dcidLength);
        Assert.Equal(0, initial[6 + dcidLength]);
    }
}
