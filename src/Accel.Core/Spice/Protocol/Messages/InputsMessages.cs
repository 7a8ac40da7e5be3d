using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Protocol.Messages;

/// <summary>SPICE_MSGC_INPUTS_MOUSE_MOTION (server mouse mode): i32 dx, i32 dy, u16 buttons_state.</summary>
internal readonly record struct SpiceMouseMotion(int Dx, int Dy, ushort ButtonsState) : ISpiceMessageBody
{
    public const int Length = 10;

    public ushort MessageType => (ushort)SpiceInputsMsgc.MouseMotion;

    public int BodyLength => Length;

    public static SpiceMouseMotion Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "MOUSE_MOTION");
        return new SpiceMouseMotion(reader.ReadInt32(), reader.ReadInt32(), reader.ReadUInt16());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, Dx);
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], Dy);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ButtonsState);
    }
}

/// <summary>SPICE_MSGC_INPUTS_MOUSE_POSITION (client mouse mode): u32 x, u32 y, u16 buttons_state, u8 display_id.</summary>
internal readonly record struct SpiceMousePosition(uint X, uint Y, ushort ButtonsState, byte DisplayId) : ISpiceMessageBody
{
    public const int Length = 11;

    public ushort MessageType => (ushort)SpiceInputsMsgc.MousePosition;

    public int BodyLength => Length;

    public static SpiceMousePosition Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "MOUSE_POSITION");
        return new SpiceMousePosition(reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadUInt16(), reader.ReadByte());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, X);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Y);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[8..], ButtonsState);
        destination[10] = DisplayId;
    }
}

/// <summary>SPICE_MSGC_INPUTS_MOUSE_PRESS / MOUSE_RELEASE: u8 button, u16 buttons_state.</summary>
internal readonly record struct SpiceMouseButtonEvent(SpiceInputsMsgc Kind, byte Button, ushort ButtonsState) : ISpiceMessageBody
{
    public const int Length = 3;

    public ushort MessageType => (ushort)Kind;

    public int BodyLength => Length;

    public static SpiceMouseButtonEvent Parse(SpiceInputsMsgc kind, in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "MOUSE_PRESS/RELEASE");
        return new SpiceMouseButtonEvent(kind, reader.ReadByte(), reader.ReadUInt16());
    }

    public void WriteBody(Span<byte> destination)
    {
        destination[0] = Button;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[1..], ButtonsState);
    }
}
