using System.Buffers;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>What to do with an inputs message on its way to the server.</summary>
internal enum MotionDecision
{
    /// <summary>Send it as it is.</summary>
    Forward,
    /// <summary>Merged into the pending motion; send nothing now.</summary>
    Absorbed,
    /// <summary>Write the pending motion (<see cref="MotionCoalescer.WritePending"/>) first, then send this message.</summary>
    FlushPendingThenForward,
}

/// <summary>
/// Paces pointer motion toward the real server on the server-side leg with spice-gtk's rule: at most
/// 2 × SPICE_INPUT_MOTION_ACK_BUNCH = 8 motion messages unacknowledged; each MOUSE_MOTION_ACK from the server
/// acknowledges 4. Beyond that, MOUSE_MOTION messages are summed (dx, dy; latest buttons) and MOUSE_POSITION
/// messages collapse to the latest, and the result goes out when the next ack arrives. Any other inputs message
/// (keys, button press/release) first flushes the pending motion so the server sees events in the user's order.
/// Not thread-safe.
/// </summary>
internal sealed class MotionCoalescer
{
    public const int MaxInFlight = 2 * MotionAckResponder.MotionAckBunch;

    private ushort _pendingType;
    private SpiceMouseMotion _pendingMotion;
    private SpiceMousePosition _pendingPosition;

    /// <summary>Motion messages sent and not yet acknowledged (spice-gtk's motion_count).</summary>
    public int InFlight { get; private set; }

    public bool HasPending => _pendingType != 0;

    /// <summary>Motion messages merged into another instead of being sent.</summary>
    public long Coalesced { get; private set; }

    public MotionDecision OnClientMessage(ushort type, in ReadOnlySequence<byte> body)
    {
        if (!MotionAckResponder.IsMotion(type))
        {
            return HasPending && type > (ushort)SpiceMsg.BaseLast ? MotionDecision.FlushPendingThenForward : MotionDecision.Forward;
        }

        if (!HasPending)
        {
            if (InFlight < MaxInFlight)
            {
                InFlight++;
                return MotionDecision.Forward;
            }

            _pendingType = type;
            if (type == (ushort)SpiceInputsMsgc.MouseMotion)
            {
                _pendingMotion = SpiceMouseMotion.Parse(body);
            }
            else
            {
                _pendingPosition = SpiceMousePosition.Parse(body);
            }

            Coalesced++;
            return MotionDecision.Absorbed;
        }

        if (type != _pendingType)
        {
            // The mouse mode changed under a pending motion: keep both, in order.
            InFlight++;
            return MotionDecision.FlushPendingThenForward;
        }

        if (type == (ushort)SpiceInputsMsgc.MouseMotion)
        {
            var next = SpiceMouseMotion.Parse(body);
            _pendingMotion = new SpiceMouseMotion(
                SaturatingAdd(_pendingMotion.Dx, next.Dx),
                SaturatingAdd(_pendingMotion.Dy, next.Dy),
                next.ButtonsState);
        }
        else
        {
            _pendingPosition = SpiceMousePosition.Parse(body);
        }

        Coalesced++;
        return MotionDecision.Absorbed;
    }

    /// <summary>
    /// Routes a client message: true when it is to be sent now (after the pending motion, which this wrote to
    /// <paramref name="output"/> if it had to go first), false when it was absorbed into the pending motion.
    /// </summary>
    public bool Route(ushort type, in ReadOnlySequence<byte> body, SpiceMessageWriter writer, IBufferWriter<byte> output)
    {
        switch (OnClientMessage(type, body))
        {
            case MotionDecision.Absorbed:
                return false;
            case MotionDecision.FlushPendingThenForward:
                WritePending(writer, output);
                return true;
            default:
                return true;
        }
    }

    /// <summary>The server acknowledged a bunch of motions. True when the pending motion should be written now.</summary>
    public bool OnServerMotionAck()
    {
        InFlight = Math.Max(0, InFlight - MotionAckResponder.MotionAckBunch);
        return HasPending && InFlight < MaxInFlight;
    }

    /// <summary>Writes the pending motion or position (if any) and counts it as in flight.</summary>
    public void WritePending(SpiceMessageWriter writer, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (_pendingType == (ushort)SpiceInputsMsgc.MouseMotion)
        {
            writer.Write(output, _pendingMotion);
        }
        else if (_pendingType == (ushort)SpiceInputsMsgc.MousePosition)
        {
            writer.Write(output, _pendingPosition);
        }
        else
        {
            return;
        }

        _pendingType = 0;
        InFlight++;
    }

    private static int SaturatingAdd(int a, int b) => (int)Math.Clamp((long)a + b, int.MinValue, int.MaxValue);
}
