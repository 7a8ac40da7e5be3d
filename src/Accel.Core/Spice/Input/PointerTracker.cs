using System.Buffers;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Input;

/// <summary>
/// Client edge: the pointer as the client's motion messages leave it (<see cref="PointerState"/>), numbered, and
/// whether a state went by datagram only since the last marker (then the next stream message must be a marker, see
/// <see cref="InputWire"/>). Not thread-safe.
/// </summary>
internal sealed class PointerTracker
{
    private int _sumDx;
    private int _sumDy;
    private uint _seq;

    public PointerState Latest { get; private set; }

    /// <summary>A state went by datagram and no marker carried it (or a newer one) yet.</summary>
    public bool Unsynced { get; private set; }

    /// <summary>The state after a MOUSE_MOTION or MOUSE_POSITION from the client (a malformed body throws).</summary>
    public PointerState OnMotion(ushort type, in ReadOnlySequence<byte> body)
    {
        if (type == (ushort)SpiceInputsMsgc.MouseMotion)
        {
            var m = SpiceMouseMotion.Parse(body);
            _sumDx = unchecked(_sumDx + m.Dx);
            _sumDy = unchecked(_sumDy + m.Dy);
            Latest = new PointerState(++_seq, type, _sumDx, _sumDy, m.ButtonsState, 0);
        }
        else
        {
            var p = SpiceMousePosition.Parse(body);
            Latest = new PointerState(++_seq, type, unchecked((int)p.X), unchecked((int)p.Y), p.ButtonsState, p.DisplayId);
        }

        return Latest;
    }

    public void SentAsDatagram() => Unsynced = true;

    public void MarkerWritten() => Unsynced = false;
}
