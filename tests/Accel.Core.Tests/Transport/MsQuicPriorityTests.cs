using System.Runtime.Versioning;
using Accel.Core.Transport;
using Accel.Core.Transport.MsQuic;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// The seam's urgencies as libmsquic's stream priorities (QUIC_PARAM_STREAM_PRIORITY), read back from libmsquic itself:
/// the conformance suite's priority test shows the effect, this one that the library holds the value asked for. Runs
/// where libmsquic is found, like the MsQuic conformance suite.
/// </summary>
[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
public sealed class MsQuicPriorityTests : TransportConformance<MsQuicUnderTest>
{
    [Fact]
    public void Urgencies_MapOntoLibmsquicPriorities_StrictAboveTheDefaultWeightedAtIt()
    {
        Assert.Equal(0x8002, MsQuicPriority.Of(0));
        Assert.Equal(0x8001, MsQuicPriority.Of(1));
        Assert.Equal(0x8000, MsQuicPriority.Of(2));
        for (byte urgency = 3; urgency <= StreamUrgency.Lowest; urgency++)
        {
            Assert.Equal(MsQuicPriority.Default, MsQuicPriority.Of(urgency));
        }
    }

    [Fact]
    public async Task StreamPriority_FollowsTheUrgency_FromOpenAcceptAndEveryChange()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        Assert.True((pair.Client.Capabilities & TransportCapabilities.StreamPriority) != 0, pair.Client.Capabilities.ToString());
        Assert.True((pair.Server.Capabilities & TransportCapabilities.StreamPriority) != 0, pair.Server.Capabilities.ToString());

        for (byte urgency = 0; urgency <= StreamUrgency.Lowest; urgency++)
        {
            await using var opened = (MsQuicTransportStream)await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, urgency, Ct).AsTask().WaitAsync(Timeout, Ct);
            Assert.Equal(MsQuicPriority.Of(urgency), opened.EnginePriority);
        }

        var stream = (MsQuicTransportStream)await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        await using var _ = stream;
        await stream.WriteAsync("hello"u8.ToArray(), false, Ct).AsTask().WaitAsync(Timeout, Ct);
        await using var accepted = (MsQuicTransportStream)await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);

        // An accepted stream starts at the seam's default urgency, libmsquic's default priority.
        Assert.Equal(TransportDefaults.AcceptedStreamUrgency, accepted.Urgency);
        Assert.Equal(MsQuicPriority.Default, accepted.EnginePriority);

        // Every change reaches libmsquic, on either end, while data flows and after.
        foreach (var urgency in new byte[] { 0, 2, 1, 6, 0, 3 })
        {
            accepted.Urgency = urgency;
            stream.Urgency = urgency;
            Assert.Equal(MsQuicPriority.Of(urgency), accepted.EnginePriority);
            Assert.Equal(MsQuicPriority.Of(urgency), stream.EnginePriority);
            await stream.WriteAsync("x"u8.ToArray(), false, Ct).AsTask().WaitAsync(Timeout, Ct);
        }
    }
}
