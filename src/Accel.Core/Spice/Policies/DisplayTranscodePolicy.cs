using System.Buffers;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Server edge, display channel: draw messages with images (up to the transcoder's size limit) are read whole and
/// written re-encoded (<see cref="DisplayTranscoder"/>); larger ones stream through unchanged.
/// </summary>
internal sealed class DisplayTranscodePolicy(DisplayTranscoder transcoder) : IChannelPolicy, IDisposable
{
    public DisplayTranscoder Transcoder => transcoder;

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        direction == SpiceDirection.ServerToClient && transcoder.Wants(type, size) ? BodyNeed.Transform : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (direction != SpiceDirection.ServerToClient || !transcoder.Wants(message.Type, (uint)message.BodyLength))
        {
            return PolicyVerdict.Forward;
        }

        transcoder.Transcode(message.Type, message.Body, output);
        return PolicyVerdict.Drop;
    }

    public void Dispose() => transcoder.Dispose();
}
