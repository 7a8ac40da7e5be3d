using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Protocol.Link;

namespace Accel.Core.Spice.Protocol.Framing;

/// <summary>A message body that knows its type and can write itself into a span (no allocation).</summary>
internal interface ISpiceMessageBody
{
    ushort MessageType { get; }

    int BodyLength { get; }

    void WriteBody(Span<byte> destination);
}

/// <summary>
/// Writes framed messages for one direction of one channel into the transport's buffer, numbering serials
/// from 1. Not thread-safe: owned by the single writer loop of its connection.
/// </summary>
internal sealed class SpiceMessageWriter
{
    private readonly bool _miniHeader;
    private ulong _lastSerial;

    public SpiceMessageWriter(bool miniHeader) => _miniHeader = miniHeader;

    public static SpiceMessageWriter ForSession(LinkSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new SpiceMessageWriter(session.UseMiniHeader);
    }

    public bool MiniHeader => _miniHeader;

    public int HeaderLength => SpiceDataHeader.Length(_miniHeader);

    /// <summary>Messages written so far (also the serial of the last one).</summary>
    public ulong MessagesWritten => _lastSerial;

    /// <summary>Writes a header for a body of <paramref name="bodyLength"/> bytes; the caller writes the body next.</summary>
    public void WriteHeader(IBufferWriter<byte> output, ushort type, int bodyLength, uint subListOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(HeaderLength);
        WriteHeader(span, type, bodyLength, subListOffset);
        output.Advance(HeaderLength);
    }

    public void Write(IBufferWriter<byte> output, ushort type, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(output);
        var total = HeaderLength + body.Length;
        var span = output.GetSpan(total);
        WriteHeader(span, type, body.Length, 0);
        body.CopyTo(span[HeaderLength..]);
        output.Advance(total);
    }

    public void Write(IBufferWriter<byte> output, ushort type, in ReadOnlySequence<byte> body, uint subListOffset = 0)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (body.Length > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(body));
        }

        WriteHeader(output, type, (int)body.Length, subListOffset);
        foreach (var segment in body)
        {
            output.Write(segment.Span);
        }
    }

    public void Write<T>(IBufferWriter<byte> output, in T message)
        where T : struct, ISpiceMessageBody
    {
        ArgumentNullException.ThrowIfNull(output);
        var length = message.BodyLength;
        var total = HeaderLength + length;
        var span = output.GetSpan(total);
        WriteHeader(span, message.MessageType, length, 0);
        message.WriteBody(span.Slice(HeaderLength, length));
        output.Advance(total);
    }

    private void WriteHeader(Span<byte> span, ushort type, int bodyLength, uint subListOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bodyLength);
        _lastSerial++;
        if (_miniHeader)
        {
            if (subListOffset != 0)
            {
                throw new InvalidOperationException("The mini header has no sub_list; send SPICE_MSG_LIST instead.");
            }

            BinaryPrimitives.WriteUInt16LittleEndian(span, type);
            BinaryPrimitives.WriteUInt32LittleEndian(span[2..], (uint)bodyLength);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span, _lastSerial);
            BinaryPrimitives.WriteUInt16LittleEndian(span[8..], type);
            BinaryPrimitives.WriteUInt32LittleEndian(span[10..], (uint)bodyLength);
            BinaryPrimitives.WriteUInt32LittleEndian(span[14..], subListOffset);
        }
    }
}
