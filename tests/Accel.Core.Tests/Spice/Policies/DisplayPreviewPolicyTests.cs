using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Tests.Spice.Policies;

public sealed class DisplayPreviewPolicyTests
{
    private static byte[] DrawCopyMessage(int bodyLength)
    {
        var m = new byte[6 + bodyLength];
        BinaryPrimitives.WriteUInt16LittleEndian(m, DisplayPreviewWire.PreviewMessageType);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(2), (uint)bodyLength);
        m.AsSpan(6).Fill(0x5A);
        return m;
    }

    private static byte[] Datagram(long streamId, uint number, byte[] message, byte kind = DisplayPreviewWire.DatagramKind, uint after = 0)
    {
        int header = kind == DisplayPreviewWire.DatagramKindAfter ? DisplayPreviewWire.DatagramAfterHeaderLength : DisplayPreviewWire.DatagramHeaderLength;
        var d = new byte[header + message.Length];
        d[0] = kind;
        BinaryPrimitives.WriteUInt64LittleEndian(d.AsSpan(1), (ulong)streamId);
        BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(9), number);
        if (kind == DisplayPreviewWire.DatagramKindAfter)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(d.AsSpan(13), after);
        }

        message.CopyTo(d, header);
        return d;
    }

    private static SpiceMessage Marker(uint number)
    {
        var w = new ArrayBufferWriter<byte>();
        DisplayPreviewWire.WriteMarker(w, number);
        var framed = w.WrittenSpan.ToArray();
        Assert.Equal(DisplayPreviewWire.MarkerLength, framed.Length);
        Assert.Equal(DisplayPreviewWire.MarkerType, BinaryPrimitives.ReadUInt16LittleEndian(framed));
        return new SpiceMessage(DisplayPreviewWire.MarkerType, 1, new ReadOnlySequence<byte>(framed, 6, 4), 0, SpiceDataHeader.MiniLength);
    }

    [Fact]
    public void Datagram_RoundTrips_AndMalformedOnesAreRefused()
    {
        var message = DrawCopyMessage(40);
        Assert.True(DisplayPreviewWire.TryParseDatagram(Datagram(8, 7, message), out var id, out var n, out var after, out var m));
        Assert.Equal(8, id);
        Assert.Equal(7u, n);
        Assert.Equal(0u, after);
        Assert.True(m.SequenceEqual(message));
        Assert.True(DisplayPreviewWire.TryParseDatagram(Datagram(8, 7, message, DisplayPreviewWire.DatagramKindAfter, after: 5), out id, out n, out after, out m));
        Assert.Equal((8L, 7u, 5u), (id, n, after));
        Assert.True(m.SequenceEqual(message));

        Assert.False(DisplayPreviewWire.TryParseDatagram(Datagram(8, 7, message, DisplayPreviewWire.DatagramKindAfter, after: 7), out _, out _, out _, out _), "a barrier not before its own marker");
        Assert.False(DisplayPreviewWire.TryParseDatagram(Datagram(8, 7, message, kind: 2), out _, out _, out _, out _));
        Assert.False(DisplayPreviewWire.TryParseDatagram(Datagram(8, 7, message)[..^1], out _, out _, out _, out _), "size field disagrees");
        var fill = DrawCopyMessage(40);
        BinaryPrimitives.WriteUInt16LittleEndian(fill, 302);
        Assert.False(DisplayPreviewWire.TryParseDatagram(Datagram(8, 7, fill), out _, out _, out _, out _), "only DRAW_COPY");
        Assert.False(DisplayPreviewWire.TryParseDatagram(new byte[5], out _, out _, out _, out _));
        var huge = Datagram(8, 7, message);
        BinaryPrimitives.WriteUInt64LittleEndian(huge.AsSpan(1), ulong.MaxValue);
        Assert.False(DisplayPreviewWire.TryParseDatagram(huge, out _, out _, out _, out _));
    }

    [Fact]
    public void PreviewBeforeItsMarker_IsShown_AfterIt_IsDropped_MarkerNeverReachesTheClient()
    {
        var injector = new RecordingInjector();
        using var policy = new DisplayPreviewPolicy(injector);
        var message = DrawCopyMessage(30);

        policy.Offer(1, 0, message);
        Assert.Equal(message, injector.Take());
        Assert.Equal(BodyNeed.Inspect, policy.Examine(SpiceDirection.ServerToClient, DisplayPreviewWire.MarkerType, 4));
        Assert.Equal(BodyNeed.None, policy.Examine(SpiceDirection.ServerToClient, 304, 100));
        var other = new SpiceMessage(304, 1, new ReadOnlySequence<byte>(new byte[3]), 0, SpiceDataHeader.MiniLength);
        Assert.Equal(PolicyVerdict.Forward, policy.OnMessage(SpiceDirection.ServerToClient, other, new ArrayBufferWriter<byte>())); // read for another policy
        Assert.Equal(PolicyVerdict.Drop, policy.OnMessage(SpiceDirection.ServerToClient, Marker(1), new ArrayBufferWriter<byte>()));

        policy.Offer(2, 0, message); // its marker not yet on the stream: shown
        Assert.Equal(message, injector.Take());
        Assert.Equal(PolicyVerdict.Drop, policy.OnMessage(SpiceDirection.ServerToClient, Marker(3), new ArrayBufferWriter<byte>()));
        policy.Offer(3, 0, message); // late: the stream passed its moment
        policy.Offer(2, 0, message); // reordered and late
        Assert.Empty(injector.Take());
        Assert.Equal(2, policy.Shown);
        Assert.Equal(2, policy.Late);
    }

    [Fact]
    public void PreviewAfterABarrier_IsHeldUntilTheBarrierPasses_ThenWrittenInItsPlace_InNumberOrder()
    {
        var injector = new RecordingInjector();
        using var policy = new DisplayPreviewPolicy(injector);
        var first = DrawCopyMessage(20);
        var second = DrawCopyMessage(24);
        var third = DrawCopyMessage(28);

        // Preview 5 covers pixels an older COPY_BITS reads (its barrier: marker 4); preview 7 is free but newer.
        policy.Offer(5, 4, first);
        policy.Offer(7, 0, second);
        Assert.Empty(injector.Take());
        Assert.Equal(2, policy.Held);

        var atMarker3 = new ArrayBufferWriter<byte>();
        Assert.Equal(PolicyVerdict.Drop, policy.OnMessage(SpiceDirection.ServerToClient, Marker(3), atMarker3));
        Assert.Equal(0, atMarker3.WrittenCount); // the barrier has not passed: nothing yet

        var atBarrier = new ArrayBufferWriter<byte>();
        Assert.Equal(PolicyVerdict.Drop, policy.OnMessage(SpiceDirection.ServerToClient, Marker(4), atBarrier));
        Assert.Equal(first.Concat(second), atBarrier.WrittenSpan.ToArray()); // in the barrier's place, oldest first
        Assert.Equal(2, policy.Shown);

        // Held past its own marker: dropped, never shown.
        policy.Offer(9, 8, third);
        var atOwn = new ArrayBufferWriter<byte>();
        policy.OnMessage(SpiceDirection.ServerToClient, Marker(9), atOwn);
        Assert.Equal(0, atOwn.WrittenCount);
        Assert.Equal(1, policy.Late);

        // At most MaxHeld wait; more are dropped as late.
        for (uint i = 0; i < DisplayPreviewPolicy.MaxHeld + 2; i++)
        {
            policy.Offer(20 + i, 15, first);
        }

        Assert.Equal(3, policy.Late);
        Assert.Empty(injector.Take());
    }

    [Fact]
    public void MarkerOfWrongSize_IsAProtocolError()
    {
        using var policy = new DisplayPreviewPolicy(new RecordingInjector());
        var bad = new SpiceMessage(DisplayPreviewWire.MarkerType, 1, new ReadOnlySequence<byte>(new byte[3]), 0, SpiceDataHeader.MiniLength);
        Assert.Throws<SpiceProtocolException>(() => policy.OnMessage(SpiceDirection.ServerToClient, bad, new ArrayBufferWriter<byte>()));
    }
}
