using System.Buffers;
using System.Buffers.Binary;

namespace Accel.Core.Spice.Protocol.Framing;

/// <summary>A sub-message of a SPICE_MSG_LIST (mini header) or of a full header's sub_list.</summary>
internal readonly struct SpiceSubMessage
{
    public SpiceSubMessage(ushort type, ReadOnlySequence<byte> body)
    {
        Type = type;
        Body = body;
    }

    public ushort Type { get; }

    public ReadOnlySequence<byte> Body { get; }
}

/// <summary>A sub-message to write: type and body.</summary>
internal readonly record struct SpiceSubMessageData(ushort Type, ReadOnlyMemory<byte> Body);

/// <summary>
/// SubMessageList: u16 count, u32 offsets[count] (from the body start), each pointing at a SubMessage
/// (u16 type, u32 size, payload). Under the mini header the whole body of SPICE_MSG_LIST (type 8) is such a list
/// at offset 0.
/// </summary>
internal static class SpiceSubMessageList
{
    /// <summary>
    /// Validates the list table at <paramref name="listOffset"/> and returns an enumerator over the sub-messages.
    /// Every offset and size is checked against the body; violations throw <see cref="SpiceProtocolException"/>.
    /// </summary>
    public static Enumerator Enumerate(in ReadOnlySequence<byte> body, uint listOffset = 0)
    {
        if (listOffset > body.Length - 2 || body.Length < 2)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidSubMessageList, $"Sub-message list at {listOffset} does not fit a {body.Length}-byte body.");
        }

        var reader = new SpiceReader(body.Slice(listOffset), "sub-message list");
        var count = reader.ReadUInt16();
        if (reader.Remaining < 4L * count)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidSubMessageList, $"Sub-message list of {count} entries does not fit its body.");
        }

        return new Enumerator(body, body.Slice(listOffset + 2, 4L * count), count);
    }

    /// <summary>Body length of a SPICE_MSG_LIST carrying <paramref name="items"/>.</summary>
    public static int GetListBodyLength(ReadOnlySpan<SpiceSubMessageData> items)
    {
        var length = 2 + (4 * items.Length);
        foreach (var item in items)
        {
            length += SpiceDataHeader.SubMessageHeaderLength + item.Body.Length;
        }

        return length;
    }

    /// <summary>Writes a whole SPICE_MSG_LIST (type 8): the list table, then the sub-messages in order.</summary>
    public static void WriteList(SpiceMessageWriter writer, IBufferWriter<byte> output, ReadOnlySpan<SpiceSubMessageData> items)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(output);
        if (items.Length > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(items), "A sub-message list holds at most 65535 entries.");
        }

        var bodyLength = GetListBodyLength(items);
        writer.WriteHeader(output, (ushort)Messages.SpiceMsg.List, bodyLength);
        var tableLength = 2 + (4 * items.Length);
        var table = output.GetSpan(tableLength);
        BinaryPrimitives.WriteUInt16LittleEndian(table, (ushort)items.Length);
        var offset = tableLength;
        for (var i = 0; i < items.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(table[(2 + (4 * i))..], (uint)offset);
            offset += SpiceDataHeader.SubMessageHeaderLength + items[i].Body.Length;
        }

        output.Advance(tableLength);
        foreach (var item in items)
        {
            var header = output.GetSpan(SpiceDataHeader.SubMessageHeaderLength);
            BinaryPrimitives.WriteUInt16LittleEndian(header, item.Type);
            BinaryPrimitives.WriteUInt32LittleEndian(header[2..], (uint)item.Body.Length);
            output.Advance(SpiceDataHeader.SubMessageHeaderLength);
            output.Write(item.Body.Span);
        }
    }

    /// <summary>Walks the sub-messages in list order (the order the client runs them).</summary>
    internal ref struct Enumerator
    {
        private readonly ReadOnlySequence<byte> _body;
        private SpiceReader _offsets;
        private int _remaining;

        internal Enumerator(ReadOnlySequence<byte> body, ReadOnlySequence<byte> offsets, int count)
        {
            _body = body;
            _offsets = new SpiceReader(offsets, "sub-message offsets");
            _remaining = count;
            Count = count;
            Current = default;
        }

        public int Count { get; }

        public SpiceSubMessage Current { get; private set; }

        public readonly Enumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_remaining == 0)
            {
                return false;
            }

            _remaining--;
            long offset = _offsets.ReadUInt32();
            if (offset > _body.Length - SpiceDataHeader.SubMessageHeaderLength)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidSubMessageList, $"Sub-message at {offset} does not fit a {_body.Length}-byte body.");
            }

            var reader = new SpiceReader(_body.Slice(offset), "sub-message");
            var type = reader.ReadUInt16();
            long size = reader.ReadUInt32();
            if (size > reader.Remaining)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidSubMessageList, $"Sub-message type {type} of {size} bytes at {offset} overruns its body.");
            }

            Current = new SpiceSubMessage(type, _body.Slice(offset + SpiceDataHeader.SubMessageHeaderLength, size));
            return true;
        }
    }
}
