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

public sealed class Ngtcp2HandshakeConformanceTests : HandshakeConformance<Ngtcp2UnderTest>;

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
        // A background thread that never started reports Unstarted | Background: the loop must still count as not
        // started, or dispose waits for nothing and leaks the socket and the native connection.
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var remote = new IPEndPoint(IPAddress.Loopback, 9);
        var options = new TransportClientOptions { RemoteEndPoint = remote, Identity = TestIdentities.Client, PeerTrust = TestIdentities.Pin(TestIdentities.Server) };
        var connection = Ngtcp2Connection.CreateClient(options, new UdpEndpoint(socket, NullLogger.Instance), remote, NullLogger.Instance);

        await connection.DisposeAsync();

        Assert.True(socket.SafeHandle.IsClosed);
        Assert.Equal(0, connection.Native.Conn);
    }
}
