using System.Buffers;
using Accel.Core.Diagnostics;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Client edge, inputs channel: answers the client's pointer motion at once (spice-gtk sends at most 8
/// unacknowledged, so an ACK from across the WAN would cap the pointer at 8 positions per round trip). Every motion
/// still crosses the WAN, checked well-formed (the server edge parses it to coalesce); the server's own motion ACKs
/// end at the server edge.
/// </summary>
internal sealed class MotionAckPolicy(IMessageInjector toClient) : IChannelPolicy
{
    private readonly MotionAckResponder _responder = new();

    public long AcksProduced => _responder.AcksProduced;

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) => direction == SpiceDirection.ClientToServer
        ? (MotionAckResponder.IsMotion(type) ? BodyNeed.Inspect : BodyNeed.None)
        : (MotionAckResponder.IsServerMotionAck(type) ? BodyNeed.Inspect : BodyNeed.None);

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        var type = message.Type;
        if (direction == SpiceDirection.ServerToClient)
        {
            return MotionAckResponder.IsServerMotionAck(type) ? PolicyVerdict.Drop : PolicyVerdict.Forward;
        }

        if (type == (ushort)SpiceInputsMsgc.MouseMotion)
        {
            _ = SpiceMouseMotion.Parse(message.Body);
        }
        else if (type == (ushort)SpiceInputsMsgc.MousePosition)
        {
            _ = SpiceMousePosition.Parse(message.Body);
        }

        if (_responder.OnClientMessage(type))
        {
            toClient.Inject(SpiceEmptyMessage.MouseMotionAck);
            AccelMetrics.LocalAcks.Add(1, AccelMetrics.Tags("kind", "motion_ack"));
        }

        return PolicyVerdict.Forward;
    }
}
