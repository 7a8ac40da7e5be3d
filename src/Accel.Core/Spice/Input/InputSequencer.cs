using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Input;

/// <summary>What to do with a pointer datagram.</summary>
internal enum PointerVerdict : byte
{
    /// <summary>Apply it now.</summary>
    Apply,
    /// <summary>The stream has not delivered the messages sent before it: kept (the newest only) until it has.</summary>
    Held,
    /// <summary>A newer state was applied, or a marker that carries one passed already.</summary>
    Stale,
}

/// <summary>
/// Server edge: the order of one inputs channel's messages (<see cref="InputWire"/>) when they arrive three ways:
/// the stream, input copies and pointer datagrams. It counts stream messages processed (from the stream or a copy),
/// says which copy is next and which stream message is a duplicate, holds a pointer datagram that is ahead of the
/// stream, and turns pointer states into SPICE motion messages (relative ones as the delta from the last applied).
/// Not thread-safe.
/// </summary>
internal sealed class InputSequencer
{
    public const int MaxMotionBody = SpiceMousePosition.Length;

    private uint _streamRead;
    private uint _appliedSeq;
    private bool _anyApplied;
    private int _relativeA;
    private int _relativeB;
    private PointerState _held;
    private uint _heldAfter;
    private bool _hasHeld;

    /// <summary>Stream messages processed, from the stream itself or from a copy.</summary>
    public uint Processed { get; private set; }

    /// <summary>Stream messages a copy delivered before the stream did.</summary>
    public long DeliveredByCopy { get; private set; }

    /// <summary>The stream delivered its next message: true when it must be processed, false when a copy did already.</summary>
    public bool OnStreamMessage()
    {
        var index = _streamRead++;
        return index >= Processed;
    }

    /// <summary>True when stream message <paramref name="index"/> (from a copy) is the next one to process.</summary>
    public bool IsNext(uint index) => index == Processed;

    /// <summary>One stream message was processed; <paramref name="byCopy"/> when a copy brought it.</summary>
    public void MarkProcessed(bool byCopy)
    {
        Processed++;
        if (byCopy)
        {
            DeliveredByCopy++;
        }
    }

    public PointerVerdict OnDatagram(uint after, in PointerState state)
    {
        if (after < Processed)
        {
            return PointerVerdict.Stale;
        }

        if (after > Processed)
        {
            if (!_hasHeld || after > _heldAfter || (after == _heldAfter && IsAfter(state.Seq, _held.Seq)))
            {
                _held = state;
                _heldAfter = after;
                _hasHeld = true;
            }

            return PointerVerdict.Held;
        }

        return IsNewer(state) ? PointerVerdict.Apply : PointerVerdict.Stale;
    }

    /// <summary>After a stream message: the held datagram, when its moment has come and it is newer than what was applied.</summary>
    public bool TakeHeld(out PointerState state)
    {
        state = _held;
        if (!_hasHeld || _heldAfter > Processed)
        {
            return false;
        }

        _hasHeld = false;
        return _heldAfter == Processed && IsNewer(state);
    }

    public bool IsNewer(in PointerState state) => !_anyApplied || IsAfter(state.Seq, _appliedSeq);

    /// <summary>
    /// Records <paramref name="state"/> as applied and writes the motion message that applies it: its type and body
    /// (MOUSE_POSITION as is, MOUSE_MOTION with the delta from the last relative state applied).
    /// </summary>
    public ushort Apply(in PointerState state, Span<byte> body, out int bodyLength)
    {
        _appliedSeq = state.Seq;
        _anyApplied = true;
        if (state.IsRelative)
        {
            var motion = new SpiceMouseMotion(unchecked(state.A - _relativeA), unchecked(state.B - _relativeB), state.Buttons);
            _relativeA = state.A;
            _relativeB = state.B;
            motion.WriteBody(body);
            bodyLength = SpiceMouseMotion.Length;
            return (ushort)SpiceInputsMsgc.MouseMotion;
        }

        new SpiceMousePosition(unchecked((uint)state.A), unchecked((uint)state.B), state.Buttons, state.DisplayId).WriteBody(body);
        bodyLength = SpiceMousePosition.Length;
        return (ushort)SpiceInputsMsgc.MousePosition;
    }

    private static bool IsAfter(uint a, uint b) => unchecked((int)(a - b)) > 0;
}
