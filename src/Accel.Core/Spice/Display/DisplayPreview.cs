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
///   marker (stream, server → client edge only): mini header type 0xFFF0, size 4 | preview number u32
///   datagram: kind u8 = 1 | stream id u64 | preview number u32 | one SPICE message (mini header + body)
/// </code>
/// All little-endian. The marker never reaches remote-viewer; a client edge that did not ask for previews
/// (<see cref="Edges.EdgeRequest.PreviewsFlag"/>) never gets one.
/// </summary>
internal static class DisplayPreviewWire
{
    /// <summary>The marker's message type: outside SPICE's display message numbers, stripped by the client edge.</summary>
    public const ushort MarkerType = 0xFFF0;

    public const int MarkerLength = 6 + 4;

    public const byte DatagramKind = 1;

    public const int DatagramHeaderLength = 1 + 8 + 4;

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
    /// well-formed DRAW_COPY with a mini header).
    /// </summary>
    public static bool TryParseDatagram(ReadOnlySpan<byte> datagram, out long streamId, out uint number, out ReadOnlySpan<byte> message)
    {
        streamId = 0;
        number = 0;
        message = default;
        if (datagram.Length < DatagramHeaderLength + 6 || datagram[0] != DatagramKind)
        {
            return false;
        }

        ulong id = BinaryPrimitives.ReadUInt64LittleEndian(datagram[1..]);
        if (id > long.MaxValue)
        {
            return false;
        }

        var m = datagram[DatagramHeaderLength..];
        if (BinaryPrimitives.ReadUInt16LittleEndian(m) != PreviewMessageType || BinaryPrimitives.ReadUInt32LittleEndian(m[2..]) != (uint)(m.Length - 6))
        {
            return false;
        }

        streamId = (long)id;
        number = BinaryPrimitives.ReadUInt32LittleEndian(datagram[9..]);
        message = m;
        return true;
    }
}

/// <summary>Sends the datagram copy of a display preview.</summary>
internal interface IDisplayPreviewSender
{
    /// <summary>Largest SPICE message (mini header included) a preview can carry now; 0: none.</summary>
    int MaxMessageLength { get; }

    /// <summary>Queues the datagram; false when the engine could not take it (then no marker is written either).</summary>
    bool TrySend(uint number, ReadOnlySpan<byte> message);
}

/// <summary>Previews of one display stream as QUIC datagrams on its connection. Not thread-safe: the canvas policy calls it under its lock.</summary>
internal sealed class DatagramPreviewSender(IDatagramConnection connection, long streamId) : IDisplayPreviewSender
{
    private readonly byte[] _buffer = new byte[2048];

    public int MaxMessageLength => Math.Min(connection.MaxDatagramPayloadSize, _buffer.Length) - DisplayPreviewWire.DatagramHeaderLength;

    public bool TrySend(uint number, ReadOnlySpan<byte> message)
    {
        int length = DisplayPreviewWire.DatagramHeaderLength + message.Length;
        if (message.Length > MaxMessageLength)
        {
            return false;
        }

        var d = _buffer.AsSpan(0, length);
        d[0] = DisplayPreviewWire.DatagramKind;
        BinaryPrimitives.WriteUInt64LittleEndian(d[1..], (ulong)streamId);
        BinaryPrimitives.WriteUInt32LittleEndian(d[9..], number);
        message.CopyTo(d[DisplayPreviewWire.DatagramHeaderLength..]);
        return connection.TrySendDatagram(d);
    }
}
