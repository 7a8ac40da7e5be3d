using System.Buffers;

namespace Accel.Core.Spice.Protocol.Framing;

/// <summary>
/// One framed SPICE message: its type, serial and body. The body is a slice of the reader's buffer and is only
/// valid until the buffer is advanced past it.
/// </summary>
internal readonly struct SpiceMessage
{
    public SpiceMessage(ushort type, ulong serial, ReadOnlySequence<byte> body, uint subListOffset, int headerLength)
    {
        Type = type;
        Serial = serial;
        Body = body;
        SubListOffset = subListOffset;
        HeaderLength = headerLength;
    }

    public ushort Type { get; }

    /// <summary>The wire serial (full header) or the implicit one (mini header: 1, 2, 3, … per direction).</summary>
    public ulong Serial { get; }

    public ReadOnlySequence<byte> Body { get; }

    /// <summary>Full header only: offset of a SubMessageList in the body, 0 for none.</summary>
    public uint SubListOffset { get; }

    public int HeaderLength { get; }

    public long BodyLength => Body.Length;

    /// <summary>Bytes this message took on the wire.</summary>
    public long WireLength => HeaderLength + Body.Length;
}
