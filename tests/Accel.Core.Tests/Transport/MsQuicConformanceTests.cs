using Accel.Core.Transport;
using Accel.Core.Transport.MsQuic;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// The same conformance suite against System.Net.Quic (MsQuic). Every test skips, with the reason, where libmsquic
/// is not installed (Debian does not package it); none is ever reported as passed without running.
/// </summary>
public sealed class MsQuicConformanceTests : TransportConformanceTests
{
    protected override ITransportEngine CreateEngine()
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS())
        {
            return new MsQuicEngine();
        }

        throw new PlatformNotSupportedException();
    }

    [Fact]
    public void Engine_SaysHonestlyWhatItLacks()
    {
        var engine = CreateEngine();

        Assert.Equal("msquic", engine.Name);
        Assert.Equal(TransportCapabilities.None, engine.Capabilities);
        if (!engine.IsSupported)
        {
            Assert.Contains("libmsquic", engine.UnsupportedReason, StringComparison.Ordinal);
        }
    }
}
