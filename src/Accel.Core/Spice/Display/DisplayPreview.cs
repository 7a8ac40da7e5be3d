using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Transport;

namespace Accel.Core.Spice.Display;

/// <summary>
/// Display previews (docs/display-path.md, "Previews"): a small display update the server edge sends twice, once as
/// an unreliable QUIC datagram that overtakes the display stream's queue and loss recovery, and once in order on the
/// stream. A private <b>marker</b> message on the stream tells the client edge where the preview's moment lies, so
/// the datagram is shown only while the stream has not yet delivered anything newer:
/// <code>
///   marker (stream, server → client edge only): mini header type 0xFFF0, size 4 | marker number u32
///   datagram: kind u8 = 1 | stream id u64 | preview number u32 | one SPICE message (mini header + body)
///   datagram: kind u8 = 4 | stream id u64 | preview number u32 | after u32 | one SPICE message
/// </code>
/// All little-endian. Markers are numbered in one increasing sequence per stream; a marker whose number no datagram
/// carries is a <b>barrier</b>: it follows a forwarded message that reads pixels elsewhere than it writes (COPY_BITS'
/// source, a draw's SURFACE image). A kind 4 preview covers pixels such a message reads, so it may be shown only once
/// the stream has delivered marker <c>after</c> (and, as every preview, not yet its own): shown earlier, the older
/// message would copy the preview's pixels instead of the ones it was meant to read. The marker never reaches
/// remote-viewer; a client edge that did not ask for previews (<see cref="Edges.EdgeRequest.PreviewsFlag"/>) never gets
/// one.
/// </summary>
internal static class DisplayPreviewWire
{
    /// <summary>The marker's message type: outside SPICE's display message numbers, stripped by the client edge.</summary>
    public const ushort MarkerType = 0xFFF0;

    public const int MarkerLength = 6 + 4;

    public const byte DatagramKind = 1;

    /// <summary>
    /// A preview to show only after the stream delivered an earlier marker (a barrier). Datagram kinds are one space
    /// per connection: 1 and 4 are previews (server → client edge), 2 and 3 inputs (<c>InputWire</c>, client → server edge).
    /// </summary>
    public const byte DatagramKindAfter = 4;

    public const int DatagramHeaderLength = 1 + 8 + 4;

    /// <summary>Header of a <see cref="DatagramKindAfter"/> datagram (the largest header a preview has).</summary>
    public const int DatagramAfterHeaderLength = DatagramHeaderLength + 4;

    /// <summary>The only message a preview may carry: DRAW_COPY (rop PUT of canvas pixels; it reads nothing on the client).</summary>
    public const ushort PreviewMessageType = DisplayDrawMessage.DrawCopy;

    public static void WriteMarker(IBufferWriter<byte> output, uint number)
    {
        var s = output.GetSpan(MarkerLength);
        BinaryPrimitives.WriteUInt16LittleEndian(s, MarkerType);
        BinaryPrimitives.WriteUInt32LittleEndian(s[2..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(s[6..], number);
        output.Advance(MarkerLength);
    }

    /// <summary>
    /// Reads a preview datagram: false when it is not one (unknown kind, short, or a message that is not exactly one
    /// well-formed DRAW_COPY with a mini header). <paramref name="after"/>: the marker the stream must have delivered
    /// before the preview may be shown (0: none).
    /// </summary>
    public static bool TryParseDatagram(ReadOnlySpan<byte> datagram, out long streamId, out uint number, out uint after, out ReadOnlySpan<byte> message)
    {
        streamId = 0;
        number = 0;
        after = 0;
        message = default;
        int header = datagram.IsEmpty ? 0 : datagram[0] switch
        {
            DatagramKind => DatagramHeaderLength,
            DatagramKindAfter => DatagramAfterHeaderLength,
            _ => 0,
        };
        if (header == 0 || datagram.Length < header + 6)
        {
            return false;
        }

        ulong id = BinaryPrimitives.ReadUInt64LittleEndian(datagram[1..]);
        if (id > long.MaxValue)
        {
            return false;
        }

        var m = datagram[header..];
        if (BinaryPrimitives.ReadUInt16LittleEndian(m) != PreviewMessageType || BinaryPrimitives.ReadUInt32LittleEndian(m[2..]) != (uint)(m.Length - 6))
        {
            return false;
        }

        streamId = (long)id;
        number = BinaryPrimitives.ReadUInt32LittleEndian(datagram[9..]);
        after = header == DatagramAfterHeaderLength ? BinaryPrimitives.ReadUInt32LittleEndian(datagram[13..]) : 0;
        if (after >= number)
        {
            return false; // it could never be shown: a forged or broken datagram
        }

        message = m;
        return true;
    }
}

/// <summary>Sends the datagram copy of a display preview.</summary>
internal interface IDisplayPreviewSender
{
    /// <summary>Largest SPICE message (mini header included) a preview can carry now; 0: none.</summary>
    int MaxMessageLength { get; }

    /// <summary>
    /// Queues the datagram (to be shown only after the stream delivered marker <paramref name="after"/>; 0: at once);
    /// false when the engine could not take it (then no marker is written either).
    /// </summary>
    bool TrySend(uint number, uint after, ReadOnlySpan<byte> message);
}

/// <summary>
/// Previews of one display channel as QUIC datagrams on the connection that carries it now, named by its stream id
/// there (a resume moves both). Not thread-safe: the canvas policy calls it under its lock.
/// </summary>
internal sealed class DatagramPreviewSender(ChannelRoute route) : IDisplayPreviewSender
{
    private readonly byte[] _buffer = new byte[2048];

    public int MaxMessageLength => MaxMessageOn(route.Current);

    public bool TrySend(uint number, uint after, ReadOnlySpan<byte> message)
    {
        var carrier = route.Current; // one read: the datagram goes where the stream id it names is
        int header = after == 0 ? DisplayPreviewWire.DatagramHeaderLength : DisplayPreviewWire.DatagramAfterHeaderLength;
        if (carrier.Datagrams is not { } connection || message.Length > MaxMessageOn(carrier))
        {
            return false;
        }

        var d = _buffer.AsSpan(0, header + message.Length);
        d[0] = after == 0 ? DisplayPreviewWire.DatagramKind : DisplayPreviewWire.DatagramKindAfter;
        BinaryPrimitives.WriteUInt64LittleEndian(d[1..], (ulong)carrier.StreamId);
        BinaryPrimitives.WriteUInt32LittleEndian(d[9..], number);
        if (after != 0)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(d[13..], after);
        }

        message.CopyTo(d[header..]);
        return connection.TrySendDatagram(d);
    }

    private int MaxMessageOn(ChannelCarrier carrier) =>
        carrier.Datagrams is { } connection ? Math.Max(0, Math.Min(connection.MaxDatagramPayloadSize, _buffer.Length) - DisplayPreviewWire.DatagramAfterHeaderLength) : 0;
}
