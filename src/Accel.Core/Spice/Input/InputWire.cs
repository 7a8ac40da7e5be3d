using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Input;

/// <summary>
/// The pointer as the client edge last knew it, numbered: absolute mode (MOUSE_POSITION: <see cref="A"/>, <see cref="B"/>
/// are x, y) or relative mode (MOUSE_MOTION: <see cref="A"/>, <see cref="B"/> are the <b>running sums</b> of dx, dy
/// since the channel started, wrapping), so that the latest state alone says where the pointer is and a lost one
/// costs nothing but its own moment. The receiver turns a relative state into the delta from the last it applied.
/// </summary>
internal readonly record struct PointerState(uint Seq, ushort Type, int A, int B, ushort Buttons, byte DisplayId)
{
    public const int Length = 4 + 2 + 4 + 4 + 2 + 1;

    public bool IsRelative => Type == (ushort)SpiceInputsMsgc.MouseMotion;

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Seq);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Type);
        BinaryPrimitives.WriteInt32LittleEndian(destination[6..], A);
        BinaryPrimitives.WriteInt32LittleEndian(destination[10..], B);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[14..], Buttons);
        destination[16] = DisplayId;
    }

    /// <summary>False when <paramref name="source"/> is not exactly one state of a motion type.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out PointerState state)
    {
        state = default;
        if (source.Length != Length)
        {
            return false;
        }

        var type = BinaryPrimitives.ReadUInt16LittleEndian(source[4..]);
        if (!MotionAckResponder.IsMotion(type))
        {
            return false;
        }

        state = new PointerState(BinaryPrimitives.ReadUInt32LittleEndian(source), type, BinaryPrimitives.ReadInt32LittleEndian(source[6..]),
            BinaryPrimitives.ReadInt32LittleEndian(source[10..]), BinaryPrimitives.ReadUInt16LittleEndian(source[14..]), source[16]);
        return true;
    }
}

/// <summary>
/// Input datagrams between the edges (docs/input-path.md), client edge → server edge on a channel whose request
/// carried <see cref="Edges.EdgeRequest.InputDatagramsFlag"/>. Every message the client edge writes on the inputs
/// stream after the link has an index (0, 1, 2, …); both kinds of datagram name the index they belong to:
/// <code>
///   pointer datagram: kind u8 = 2 | stream id u64 | after u32 | pointer state (17)
///   input copy:       kind u8 = 3 | stream id u64 | first index u32 | messages (mini header + body each, in stream order)
///   pointer marker (on the stream): mini header type 0xFFF1, size 17 | pointer state
/// </code>
/// All little-endian. A pointer datagram was sent after stream message <c>after − 1</c> and before message
/// <c>after</c>, which is always a marker carrying that state or a newer one: the server edge applies a datagram only
/// when it has processed exactly <c>after</c> stream messages, so a click never moves against its position. An input
/// copy repeats stream messages a few milliseconds later (redundancy under loss): the server edge takes a copy only
/// when it is the next message it lacks, and drops the stream's own copy of a message it already has.
/// </summary>
internal static class InputWire
{
    public const byte PointerKind = 2;

    public const byte CopyKind = 3;

    public const int DatagramHeaderLength = 1 + 8 + 4;

    public const int PointerDatagramLength = DatagramHeaderLength + PointerState.Length;

    /// <summary>The marker's message type: outside SPICE's inputs message numbers, stripped by the server edge.</summary>
    public const ushort MarkerType = 0xFFF1;

    public const int MarkerLength = 6 + PointerState.Length;

    public static void WriteMarker(IBufferWriter<byte> output, in PointerState state)
    {
        var s = output.GetSpan(MarkerLength);
        BinaryPrimitives.WriteUInt16LittleEndian(s, MarkerType);
        BinaryPrimitives.WriteUInt32LittleEndian(s[2..], PointerState.Length);
        state.Write(s[6..]);
        output.Advance(MarkerLength);
    }

    public static void WriteHeader(Span<byte> destination, byte kind, long streamId, uint index)
    {
        destination[0] = kind;
        BinaryPrimitives.WriteUInt64LittleEndian(destination[1..], (ulong)streamId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[9..], index);
    }

    /// <summary>Reads a datagram's header: false when it is short, of another kind, or names no valid stream.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> datagram, out byte kind, out long streamId, out uint index, out ReadOnlySpan<byte> rest)
    {
        kind = 0;
        streamId = 0;
        index = 0;
        rest = default;
        if (datagram.Length < DatagramHeaderLength || datagram[0] is not (PointerKind or CopyKind))
        {
            return false;
        }

        ulong id = BinaryPrimitives.ReadUInt64LittleEndian(datagram[1..]);
        if (id > long.MaxValue)
        {
            return false;
        }

        kind = datagram[0];
        streamId = (long)id;
        index = BinaryPrimitives.ReadUInt32LittleEndian(datagram[9..]);
        rest = datagram[DatagramHeaderLength..];
        return true;
    }
}
