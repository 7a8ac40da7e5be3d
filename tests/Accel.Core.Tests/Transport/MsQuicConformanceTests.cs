using System.Net;
using System.Runtime.Versioning;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.MsQuic;
using Accel.Core.Transport.Tls;

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
    /// <summary>The controller asked for is the one libmsquic runs, on both ends, read back from each connection.</summary>
    [Theory]
    [InlineData(CongestionControlAlgorithm.Bbr)]
    [InlineData(CongestionControlAlgorithm.Cubic)]
    [SupportedOSPlatform("linux")]
    [SupportedOSPlatform("windows")]
    [SupportedOSPlatform("osx")]
    public async Task CongestionControl_Asked_IsWhatLibmsquicRuns(CongestionControlAlgorithm algorithm)
    {
        var engine = MsQuicUnderTest.Create();
        if (!engine.IsSupported && !MsQuicUnderTest.MustRun)
        {
            Assert.Skip(engine.UnsupportedReason ?? "msquic unavailable");
        }

        var ct = TestContext.Current.CancellationToken;
        var timeout = TimeSpan.FromSeconds(30);
        await using var listener = await engine.ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = TestIdentities.Server,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(TestIdentities.Client.CertificatePem)] },
            CongestionControl = algorithm,
        }, ct).AsTask().WaitAsync(timeout, ct);
        var accept = listener.AcceptAsync(ct).AsTask();
        await using var client = await engine.ConnectAsync(new TransportClientOptions
        {
            RemoteEndPoint = listener.LocalEndPoint,
            Identity = TestIdentities.Client,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(TestIdentities.Server.CertificatePem)] },
            CongestionControl = algorithm,
        }, ct).AsTask().WaitAsync(timeout, ct);
        await using var server = await accept.WaitAsync(timeout, ct);

        Assert.Equal(algorithm, ((MsQuicTransportConnection)client).CongestionControl);
        Assert.Equal(algorithm, ((MsQuicTransportConnection)server).CongestionControl);
    }

    [Fact]
    public void Engine_SaysHonestlyWhatItLacks()
    {
        var engine = MsQuicUnderTest.Create();

        Assert.Equal("msquic", engine.Name);
        Assert.False(engine.Runs(CongestionControlAlgorithm.Reno));
        if (!engine.IsSupported)
        {
            Assert.Equal(TransportCapabilities.None, engine.Capabilities);
            Assert.Contains("libmsquic", engine.UnsupportedReason, StringComparison.Ordinal);
            Assert.Equal("unavailable", engine.Version);
            return;
        }

        // No DATAGRAM; the controller and the streams' priorities are set through libmsquic's own parameters.
        Assert.Equal(TransportCapabilities.CongestionControlChoice | TransportCapabilities.StreamPriority, engine.Capabilities);
        Assert.True(engine.Runs(CongestionControlAlgorithm.Bbr) && engine.Runs(CongestionControlAlgorithm.Cubic));

        // The version names the libmsquic actually loaded, asked from the library itself, and where it came from.
        Assert.Matches(@"libmsquic 2\.\d+\.\d+ at /\S*libmsquic\.so", engine.Version);
        if (MsQuicLibrary.ConfiguredDirectory is { } dir)
        {
            Assert.Contains(Path.GetFullPath(dir).TrimEnd('/') + "/libmsquic.so", engine.Version, StringComparison.Ordinal);
        }
    }
}
