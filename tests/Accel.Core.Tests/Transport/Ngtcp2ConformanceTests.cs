using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;

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
}
