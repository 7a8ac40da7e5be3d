using Accel.Core.Transport;
using Accel.Core.Transport.MsQuic;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// System.Net.Quic (MsQuic) under the same conformance suite. It runs wherever a libmsquic is found: Microsoft's
/// package on the default library path, or one built from source named by SPICEACCEL_MSQUIC_DIR (docs/msquic.md).
/// Where none is, every test skips with the reason (Debian does not package libmsquic); none is ever reported as
/// passed without running. A directory that is named but does not load fails the tests instead of skipping them.
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

    /// <summary>A libmsquic named by SPICEACCEL_MSQUIC_DIR must run: a directory that does not load fails.</summary>
    public static bool MustRun => MsQuicLibrary.ConfiguredDirectory is not null;
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
            Assert.Equal("unavailable", engine.Version);
            return;
        }

        // The version names the libmsquic actually loaded, asked from the library itself, and where it came from.
        Assert.Matches(@"libmsquic 2\.\d+\.\d+ at /\S*libmsquic\.so", engine.Version);
        if (MsQuicLibrary.ConfiguredDirectory is { } dir)
        {
            Assert.Contains(Path.GetFullPath(dir).TrimEnd('/') + "/libmsquic.so", engine.Version, StringComparison.Ordinal);
        }
    }
}
