using Accel.Core.Transport;
using Accel.Core.Transport.MsQuic;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// System.Net.Quic (MsQuic) under the same conformance suite. Every test skips, with the reason, where libmsquic
/// is not installed (Debian does not package it); none is ever reported as passed without running.
/// </summary>
public sealed class MsQuicUnderTest : IEngineUnderTest
{
    public static ITransportEngine Create()
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS())
        {
            return new MsQuicEngine();
        }

        throw new PlatformNotSupportedException();
    }

    public static bool MustRun => false;
}

public sealed class MsQuicHandshakeConformanceTests : HandshakeConformance<MsQuicUnderTest>;

public sealed class MsQuicStreamConformanceTests : StreamConformance<MsQuicUnderTest>;

public sealed class MsQuicStreamAbortConformanceTests : StreamAbortConformance<MsQuicUnderTest>;

public sealed class MsQuicConnectionConformanceTests : ConnectionConformance<MsQuicUnderTest>;

public sealed class MsQuicEngineTests
{
    [Fact]
    public void Engine_SaysHonestlyWhatItLacks()
    {
        var engine = MsQuicUnderTest.Create();

        Assert.Equal("msquic", engine.Name);
        Assert.Equal(TransportCapabilities.None, engine.Capabilities);
        if (!engine.IsSupported)
        {
            Assert.Contains("libmsquic", engine.UnsupportedReason, StringComparison.Ordinal);
        }
    }
}
