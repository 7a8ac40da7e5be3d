using System.Buffers;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

public sealed class SpiceRelayTests
{
    private static ReadOnlySequence<byte> Body<T>(T message)
        where T : struct, ISpiceMessageBody
    {
        var bytes = new byte[message.BodyLength];
        message.WriteBody(bytes);
        return new ReadOnlySequence<byte>(bytes);
    }

    private static List<(ushort Type, byte[] Body)> Frame(byte[] bytes)
    {
        var reader = new SpiceMessageReader(true, 1 << 20);
        var buffer = new ReadOnlySequence<byte>(bytes);
        var list = new List<(ushort, byte[])>();
        while (reader.TryRead(ref buffer, out var m))
        {
            list.Add((m.Type, m.Body.ToArray()));
        }

        Assert.Equal(0, buffer.Length);
        return list;
    }

    [Fact]
    public void ServerLegAckResponder_SetAckThenMessages_AnswersSyncAndAckEveryWindow()
    {
        var responder = new ServerLegAckResponder();
        var empty = ReadOnlySequence<byte>.Empty;

        // No SET_ACK yet: nothing to acknowledge.
        Assert.Equal(AckReplies.None, responder.OnServerMessage((ushort)SpiceDisplayMsg.Mark, empty));

        Assert.Equal(AckReplies.AckSync, responder.OnServerMessage((ushort)SpiceMsg.SetAck, Body(new SpiceSetAck(1, 20))));
        Assert.Equal(1u, responder.Generation);

        var acks = new List<int>();
        for (var i = 1; i <= 60; i++)
        {
            var reply = responder.OnServerMessage((ushort)SpiceDisplayMsg.DrawCopy, empty);
            if (reply == AckReplies.Ack)
            {
                acks.Add(i);
            }
            else
            {
                Assert.Equal(AckReplies.None, reply);
            }
        }

        Assert.Equal([20, 40, 60], acks);
        Assert.Equal(3, responder.AcksProduced);
    }

    [Fact]
    public void ServerLegAckResponder_SetAckCompletingWindow_AcksThenSyncs()
    {
        var responder = new ServerLegAckResponder();
        responder.OnServerMessage((ushort)SpiceMsg.SetAck, Body(new SpiceSetAck(1, 2)));
        Assert.Equal(AckReplies.None, responder.OnServerMessage(200, ReadOnlySequence<byte>.Empty));

        // spice-gtk counts before handling: this SET_ACK completes the old window and starts a new one.
        var replies = responder.OnServerMessage((ushort)SpiceMsg.SetAck, Body(new SpiceSetAck(2, 3)));
        Assert.Equal(AckReplies.Ack | AckReplies.AckSync, replies);

        var writer = new SpiceMessageWriter(miniHeader: true);
        var bytes = ParserAssert.Bytes(w => responder.WriteReplies(replies, writer, w));
        Assert.Equal(ParserAssert.Hex("0200 00000000 0100 04000000 02000000"), bytes);

        Assert.Equal(AckReplies.None, responder.OnServerMessage(200, ReadOnlySequence<byte>.Empty));
        Assert.Equal(AckReplies.None, responder.OnServerMessage(200, ReadOnlySequence<byte>.Empty));
        Assert.Equal(AckReplies.Ack, responder.OnServerMessage(200, ReadOnlySequence<byte>.Empty));
    }

    [Fact]
    public void AckLegs_GeneratorDrivenByResponder_NeverBlocksAndNeverWraps()
    {
        // Client-side edge (generator, plays the server) talks to a spice-gtk-like client (responder), message by message.
        var generator = new ClientLegAckGenerator(window: 20);
        var client = new ServerLegAckResponder();
        var toClient = new SpiceMessageWriter(true);
        var toServer = new SpiceMessageWriter(true);
        var maxUnacknowledged = 0L;

        void Deliver(ArrayBufferWriter<byte> wire)
        {
            var back = new ArrayBufferWriter<byte>();
            foreach (var (type, body) in Frame(wire.WrittenSpan.ToArray()))
            {
                client.WriteReplies(client.OnServerMessage(type, new ReadOnlySequence<byte>(body)), toServer, back);
            }

            foreach (var (type, body) in Frame(back.WrittenSpan.ToArray()))
            {
                Assert.True(generator.OnClientMessage(type, new ReadOnlySequence<byte>(body)));
            }
        }

        var first = new ArrayBufferWriter<byte>();
        generator.WriteSetAck(toClient, first);
        Assert.Equal(1, generator.Unacknowledged);
        Deliver(first);
        Assert.Equal(generator.Generation, generator.ClientGeneration);

        for (var i = 0; i < 1000; i++)
        {
            Assert.False(generator.IsWindowFull);
            var wire = new ArrayBufferWriter<byte>();
            toClient.Write(wire, (ushort)SpiceDisplayMsg.DrawFill, ReadOnlySpan<byte>.Empty);
            generator.OnMessageSent();
            maxUnacknowledged = Math.Max(maxUnacknowledged, generator.Unacknowledged);
            Deliver(wire);
        }

        // The SET_ACK counts on the sender but not on the receiver: the sender stays one ahead, as with spice-server.
        Assert.Equal(1, generator.Unacknowledged);
        Assert.Equal(21, maxUnacknowledged);
        Assert.Equal(50, client.AcksProduced);
        Assert.Equal(0, generator.ExcessAcknowledged);
    }

    [Fact]
    public void ClientLegAckGenerator_WindowFull_AfterTwoWindowsPlusOne()
    {
        var generator = new ClientLegAckGenerator(window: 20);
        var setAck = generator.NextSetAck();
        Assert.Equal(new SpiceSetAck(1, 20), setAck);
        generator.OnMessageSent(41);
        Assert.Equal(41, generator.Unacknowledged);
        Assert.True(generator.IsWindowFull);

        // An ACK before ACK_SYNC belongs to no known generation and is ignored (consumed though).
        Assert.True(generator.OnClientMessage((ushort)SpiceMsgc.Ack, ReadOnlySequence<byte>.Empty));
        Assert.True(generator.IsWindowFull);

        Assert.True(generator.OnClientMessage((ushort)SpiceMsgc.AckSync, Body(new SpiceAckSync(1))));
        Assert.True(generator.OnClientMessage((ushort)SpiceMsgc.Ack, ReadOnlySequence<byte>.Empty));
        Assert.Equal(21, generator.Unacknowledged);
        Assert.False(generator.IsWindowFull);

        Assert.False(generator.OnClientMessage((ushort)SpiceMsgc.Pong, Body(new SpicePong(1, 2))));
    }

    [Fact]
    public void ClientLegAckGenerator_ExcessAcks_StopAtZeroInsteadOfWrapping()
    {
        var generator = new ClientLegAckGenerator(window: 20);
        generator.NextSetAck();
        generator.OnMessageSent(5);
        generator.OnClientMessage((ushort)SpiceMsgc.AckSync, Body(new SpiceAckSync(1)));
        generator.OnClientMessage((ushort)SpiceMsgc.Ack, ReadOnlySequence<byte>.Empty);
        Assert.Equal(0, generator.Unacknowledged);
        Assert.Equal(15, generator.ExcessAcknowledged);
        Assert.False(generator.IsWindowFull);

        // A new generation with a wider window; ACKs of the old generation no longer count.
        Assert.Equal(new SpiceSetAck(2, 40), generator.NextSetAck(40));
        generator.OnMessageSent(50);
        generator.OnClientMessage((ushort)SpiceMsgc.Ack, ReadOnlySequence<byte>.Empty);
        Assert.Equal(50, generator.Unacknowledged);
    }

    [Fact]
    public void MotionAckResponder_EveryFourthMotion_Acks()
    {
        var responder = new MotionAckResponder();
        var acks = new List<int>();
        for (var i = 1; i <= 12; i++)
        {
            var type = i % 3 == 0 ? SpiceInputsMsgc.MousePosition : SpiceInputsMsgc.MouseMotion;
            if (responder.OnClientMessage((ushort)type))
            {
                acks.Add(i);
            }

            Assert.False(responder.OnClientMessage((ushort)SpiceInputsMsgc.KeyDown));
        }

        Assert.Equal([4, 8, 12], acks);
        Assert.Equal(ParserAssert.Hex("6F00 00000000"), ParserAssert.Bytes(w => MotionAckResponder.WriteAck(new SpiceMessageWriter(true), w)));
        Assert.True(MotionAckResponder.IsServerMotionAck(111));
    }

    [Fact]
    public void MotionCoalescer_BeyondEightInFlight_SumsMotionAndFlushesOnAck()
    {
        var coalescer = new MotionCoalescer();
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(MotionDecision.Forward, coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseMotion, Body(new SpiceMouseMotion(1, 1, 0))));
        }

        Assert.Equal(8, coalescer.InFlight);
        Assert.Equal(MotionDecision.Absorbed, coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseMotion, Body(new SpiceMouseMotion(3, -2, 0))));
        Assert.Equal(MotionDecision.Absorbed, coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseMotion, Body(new SpiceMouseMotion(4, -5, 1))));
        Assert.True(coalescer.HasPending);
        Assert.Equal(2, coalescer.Coalesced);

        Assert.True(coalescer.OnServerMotionAck());
        Assert.Equal(4, coalescer.InFlight);
        var bytes = ParserAssert.Bytes(w => coalescer.WritePending(new SpiceMessageWriter(true), w));
        var (type, body) = Assert.Single(Frame(bytes));
        Assert.Equal((ushort)SpiceInputsMsgc.MouseMotion, type);
        Assert.Equal(new SpiceMouseMotion(7, -7, 1), SpiceMouseMotion.Parse(new ReadOnlySequence<byte>(body)));
        Assert.Equal(5, coalescer.InFlight);
        Assert.False(coalescer.HasPending);
    }

    [Fact]
    public void MotionCoalescer_Positions_LastWins()
    {
        var coalescer = new MotionCoalescer();
        for (var i = 0; i < 8; i++)
        {
            coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MousePosition, Body(new SpiceMousePosition((uint)i, 0, 0, 0)));
        }

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(MotionDecision.Absorbed, coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MousePosition, Body(new SpiceMousePosition(100 + (uint)i, 50, 0, 1))));
        }

        Assert.True(coalescer.OnServerMotionAck());
        var bytes = ParserAssert.Bytes(w => coalescer.WritePending(new SpiceMessageWriter(true), w));
        var (_, body) = Assert.Single(Frame(bytes));
        Assert.Equal(new SpiceMousePosition(104, 50, 0, 1), SpiceMousePosition.Parse(new ReadOnlySequence<byte>(body)));
    }

    [Fact]
    public void MotionCoalescer_ButtonWhilePending_FlushesFirst()
    {
        var coalescer = new MotionCoalescer();
        for (var i = 0; i < 9; i++)
        {
            coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseMotion, Body(new SpiceMouseMotion(1, 0, 0)));
        }

        Assert.True(coalescer.HasPending);
        Assert.Equal(MotionDecision.FlushPendingThenForward, coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MousePress, Body(new SpiceMouseButtonEvent(SpiceInputsMsgc.MousePress, 1, 1))));
        coalescer.WritePending(new SpiceMessageWriter(true), new ArrayBufferWriter<byte>());
        Assert.Equal(9, coalescer.InFlight);
        Assert.Equal(MotionDecision.Forward, coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseRelease, Body(new SpiceMouseButtonEvent(SpiceInputsMsgc.MouseRelease, 1, 0))));

        // Acks never drive the count negative.
        for (var i = 0; i < 5; i++)
        {
            Assert.False(coalescer.OnServerMotionAck());
        }

        Assert.Equal(0, coalescer.InFlight);
    }

    [Fact]
    public void MotionCoalescer_HugeDeltas_Saturate()
    {
        var coalescer = new MotionCoalescer();
        for (var i = 0; i < 8; i++)
        {
            coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseMotion, Body(new SpiceMouseMotion(0, 0, 0)));
        }

        coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseMotion, Body(new SpiceMouseMotion(int.MaxValue, int.MinValue, 0)));
        coalescer.OnClientMessage((ushort)SpiceInputsMsgc.MouseMotion, Body(new SpiceMouseMotion(int.MaxValue, int.MinValue, 0)));
        coalescer.OnServerMotionAck();
        var (_, body) = Assert.Single(Frame(ParserAssert.Bytes(w => coalescer.WritePending(new SpiceMessageWriter(true), w))));
        Assert.Equal(new SpiceMouseMotion(int.MaxValue, int.MinValue, 0), SpiceMouseMotion.Parse(new ReadOnlySequence<byte>(body)));
    }

    [Fact]
    public void StripGlScanout_DisplayLink_RemovesOnlyThatCap()
    {
        var caps = SpiceCapabilitySet.Of((int)SpiceDisplayCap.SizedStream, (int)SpiceDisplayCap.GlScanout, (int)SpiceDisplayCap.MultiCodec);
        var mess = new SpiceLinkMess(1, SpiceChannelType.Display, 0, SpiceCapabilitySet.FromWords([0x09]), caps);
        var stripped = LinkCapsRewriter.StripGlScanout(mess);
        Assert.False(stripped.ChannelCaps.Has((int)SpiceDisplayCap.GlScanout));
        Assert.True(stripped.ChannelCaps.Has((int)SpiceDisplayCap.SizedStream));
        Assert.True(stripped.ChannelCaps.Has((int)SpiceDisplayCap.MultiCodec));
        Assert.Equal(mess.CommonCaps, stripped.CommonCaps);

        // Bytes on the wire: channel caps word 0x181 becomes 0x101.
        var bytes = ParserAssert.Bytes(stripped.WriteTo);
        Assert.Equal(ParserAssert.Hex("01010000"), bytes[^4..]);

        var inputs = mess with { ChannelType = SpiceChannelType.Inputs };
        Assert.Same(inputs, LinkCapsRewriter.StripGlScanout(inputs));

        var reply = new SpiceLinkReply(SpiceLinkError.Ok, new byte[162], SpiceCapabilitySet.Empty, caps);
        Assert.False(LinkCapsRewriter.StripGlScanout(reply, SpiceChannelType.Display).ChannelCaps.Has((int)SpiceDisplayCap.GlScanout));
    }

    [Theory]
    [InlineData((int)SpiceDirection.ServerToClient, 320, true)]
    [InlineData((int)SpiceDirection.ServerToClient, 321, true)]
    [InlineData((int)SpiceDirection.ServerToClient, 304, false)]
    [InlineData((int)SpiceDirection.ClientToServer, 104, true)]
    [InlineData((int)SpiceDirection.ClientToServer, 103, false)]
    public void IsGlOnlyMessage_DisplayTypes_Classified(int directionValue, ushort type, bool expected)
    {
        var direction = (SpiceDirection)directionValue;
        Assert.Equal(expected, LinkCapsRewriter.IsGlOnlyMessage(SpiceChannelType.Display, direction, type));
        Assert.False(LinkCapsRewriter.IsGlOnlyMessage(SpiceChannelType.Cursor, direction, type));
    }

    [Fact]
    public void StripMigration_MainLink_RemovesBothMigrationCaps()
    {
        var mess = new SpiceLinkMess(0, SpiceChannelType.Main, 0, SpiceCapabilitySet.FromWords([0x09]), SpiceCapabilitySet.FromWords([0x0F]));
        Assert.Equal(SpiceCapabilitySet.FromWords([0x06]), LinkCapsRewriter.StripMigration(mess).ChannelCaps);
    }

    [Fact]
    public void NetTestTracker_InitThenThreePings_ClassifiesWarmupLatencyRate()
    {
        var tracker = new NetTestTracker();
        var init = new SpiceMainInit(1, 1, SpiceMouseMode.Server, SpiceMouseMode.Server, 0, 10, 0, 0);
        Assert.Equal(NetTestPing.None, tracker.OnServerMessage((ushort)SpiceMsg.Ping, Body(new SpicePing(1, 1, 0)), out _));
        Assert.Equal(NetTestPing.None, tracker.OnServerMessage((ushort)SpiceMainMsg.Init, Body(init), out _));
        Assert.Equal(NetTestPing.Warmup, tracker.OnServerMessage((ushort)SpiceMsg.Ping, Body(new SpicePing(2, 10, 0)), out var warmup));
        Assert.Equal(2u, warmup.Id);
        Assert.Equal(NetTestPing.Latency, tracker.OnServerMessage((ushort)SpiceMsg.Ping, Body(new SpicePing(3, 11, 0)), out _));
        Assert.Equal(NetTestPing.None, tracker.OnServerMessage((ushort)SpiceMainMsg.ChannelsList, ReadOnlySequence<byte>.Empty, out _));
        Assert.Equal(NetTestPing.Rate, tracker.OnServerMessage((ushort)SpiceMsg.Ping, Body(new SpicePing(4, 12, NetTestTracker.RatePingPadding)), out var rate));
        Assert.Equal(256_000, rate.PaddingLength);
        Assert.Equal(NetTestPing.None, tracker.OnServerMessage((ushort)SpiceMsg.Ping, Body(new SpicePing(5, 13, 0)), out _));
    }

    [Fact]
    public void NetTestTracker_EstimateBitrate_MatchesServerFormula()
    {
        // 256 000 bytes in 100 ms beyond the latency: 20.48 Mbit/s, above the 10 Mibit/s threshold.
        Assert.Equal(20_480_000, NetTestTracker.EstimateServerBitrate(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(105)));
        Assert.Null(NetTestTracker.EstimateServerBitrate(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(5)));
    }
}
