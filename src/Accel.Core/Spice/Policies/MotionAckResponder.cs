using System.Buffers;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Answers pointer motion locally on the client-side leg, as spice-server does: one MOUSE_MOTION_ACK after every
/// <see cref="MotionAckBunch"/> MOUSE_MOTION or MOUSE_POSITION messages from the client. The real server's acks end at
/// the server edge, whose <see cref="MotionCoalescer"/> keeps the 8-in-flight rule on the local leg
/// (<see cref="IsServerMotionAck"/>). Not thread-safe.
/// </summary>
internal sealed class MotionAckResponder
{
    /// <summary>SPICE_INPUT_MOTION_ACK_BUNCH.</summary>
    public const int MotionAckBunch = 4;

    public long MotionsReceived { get; private set; }

    public long AcksProduced { get; private set; }

    public static bool IsMotion(ushort type) =>
        type is (ushort)SpiceInputsMsgc.MouseMotion or (ushort)SpiceInputsMsgc.MousePosition;

    /// <summary>An inputs-channel message from the server that the client-side edge must not forward.</summary>
    public static bool IsServerMotionAck(ushort type) => type == (ushort)SpiceInputsMsg.MouseMotionAck;

    /// <summary>Feeds a client → server inputs message. True when a MOUSE_MOTION_ACK must be sent to the client now.</summary>
    public bool OnClientMessage(ushort type)
    {
        if (!IsMotion(type))
        {
            return false;
        }

        MotionsReceived++;
        if (MotionsReceived % MotionAckBunch != 0)
        {
            return false;
        }

        AcksProduced++;
        return true;
    }

    public static void WriteAck(SpiceMessageWriter writer, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.Write(output, SpiceEmptyMessage.MouseMotionAck);
    }
}
