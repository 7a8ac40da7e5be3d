using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;

namespace Accel.Core.Tests.Transport;

/// <summary>The conformance suite against ngtcp2. This engine must run here: a missing library fails, not skips.</summary>
public sealed class Ngtcp2ConformanceTests : TransportConformanceTests
{
    protected override ITransportEngine CreateEngine() => new Ngtcp2Engine();

    protected override void RequireEngine() => Assert.True(Engine.IsSupported, "ngtcp2 must run on this host: " + Engine.UnsupportedReason);

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
