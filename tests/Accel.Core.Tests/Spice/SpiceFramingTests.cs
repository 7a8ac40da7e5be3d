using System.Buffers;
using System.IO.Pipelines;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

public sealed class SpiceFramingTests
{
    // Mini header: type 3 (SET_ACK), size 8, generation 1, window 20.
    private const string MiniSetAckHex = "0300 08000000 01000000 14000000";

    // Full header: serial 1, type 3, size 8, sub_list 0, same body.
    private const string FullSetAckHex = "0100000000000000 0300 08000000 00000000 01000000 14000000";

    // MSG_LIST: 2 sub-messages at offsets 10 and 22: INVAL_LIST (105, 6 bytes) and WAIT_FOR_CHANNELS (5, 1 byte).
    private const string ListBodyHex = "0200 0A000000 16000000 6900 06000000 010000000000 0500 01000000 00";

    [Fact]
    public void MiniHeader_KnownBytes_FramesAtEverySplit()
    {
        var bytes = ParserAssert.Hex(MiniSetAckHex);
        ParserAssert.ParsesAtEverySplit<SpiceMessage>(
            bytes,
            new SpiceMessageReader(miniHeader: true, 1024).TryRead,
            m =>
            {
                Assert.Equal((ushort)SpiceMsg.SetAck, m.Type);
                Assert.Equal(6, m.HeaderLength);
                Assert.Equal(new SpiceSetAck(1, 20), SpiceSetAck.Parse(m.Body));
            });
    }

    [Fact]
    public void FullHeader_KnownBytes_FramesAtEverySplit()
    {
        var bytes = ParserAssert.Hex(FullSetAckHex);
        ParserAssert.ParsesAtEverySplit<SpiceMessage>(
            bytes,
            new SpiceMessageReader(miniHeader: false, 1024).TryRead,
            m =>
            {
                Assert.Equal(1ul, m.Serial);
                Assert.Equal((ushort)SpiceMsg.SetAck, m.Type);
                Assert.Equal(0u, m.SubListOffset);
                Assert.Equal(new SpiceSetAck(1, 20), SpiceSetAck.Parse(m.Body));
            });
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Writer_Output_MatchesKnownBytes(bool mini)
    {
        var writer = new SpiceMessageWriter(mini);
        var bytes = ParserAssert.Bytes(w => writer.Write(w, new SpiceSetAck(1, 20)));
        Assert.Equal(ParserAssert.Hex(mini ? MiniSetAckHex : FullSetAckHex), bytes);
    }

    [Fact]
    public void Reader_SizeAboveMaximum_ThrowsWithOnlyHeaderBuffered()
    {
        var reader = new SpiceMessageReader(miniHeader: true, maxMessageSize: 64 * 1024);
        var buffer = new ReadOnlySequence<byte>(ParserAssert.Hex("6F00 01000100")); // 65537 bytes announced, none present
        var ex = Assert.Throws<SpiceProtocolException>(() => reader.TryRead(ref buffer, out _));
        Assert.Equal(SpiceProtocolError.MessageTooLarge, ex.Error);
    }

    [Fact]
    public void Reader_SizeAtMaximum_WaitsForBody()
    {
        var reader = new SpiceMessageReader(miniHeader: true, maxMessageSize: 65536);
        var buffer = new ReadOnlySequence<byte>(ParserAssert.Hex("6F00 00000100 00"));
        Assert.False(reader.TryRead(ref buffer, out _));
        Assert.Equal(7, buffer.Length);
    }

    [Fact]
    public void FullHeader_SubListOutsideBody_Throws()
    {
        var reader = new SpiceMessageReader(miniHeader: false, 1024);
        var buffer = new ReadOnlySequence<byte>(ParserAssert.Hex("0100000000000000 0300 08000000 08000000"));
        var ex = Assert.Throws<SpiceProtocolException>(() => reader.TryRead(ref buffer, out _));
        Assert.Equal(SpiceProtocolError.InvalidSubMessageList, ex.Error);
    }

    [Fact]
    public void Reader_ManyMessagesRandomlySplit_YieldsAllInOrderWithImplicitSerials()
    {
        var writer = new SpiceMessageWriter(miniHeader: true);
        var output = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 50; i++)
        {
            writer.Write(output, (ushort)(101 + (i % 7)), Enumerable.Repeat((byte)i, i * 3).ToArray());
        }

        var bytes = output.WrittenSpan.ToArray();
        for (var seed = 0; seed < 20; seed++)
        {
            var reader = new SpiceMessageReader(miniHeader: true, 1024);
            var buffer = TestSequence.RandomSplit(bytes, seed);
            var count = 0;
            while (reader.TryRead(ref buffer, out var message))
            {
                Assert.Equal((ushort)(101 + (count % 7)), message.Type);
                Assert.Equal((ulong)(count + 1), message.Serial);
                Assert.Equal(Enumerable.Repeat((byte)count, count * 3).ToArray(), message.Body.ToArray());
                count++;
            }

            Assert.Equal(50, count);
            Assert.Equal(0, buffer.Length);
        }
    }

    [Fact]
    public async Task Reader_OverPipeWithByteWrites_FramesEveryMessage()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1024, resumeWriterThreshold: 512));
        var writer = new SpiceMessageWriter(miniHeader: true);
        var source = new ArrayBufferWriter<byte>();
        writer.Write(source, new SpicePing(7, 123456789, 300));
        writer.Write(source, new SpiceSetAck(2, 40));
        var bytes = source.WrittenSpan.ToArray();

        var produce = Task.Run(
            async () =>
            {
                foreach (var b in bytes)
                {
                    await pipe.Writer.WriteAsync(new[] { b }, TestContext.Current.CancellationToken);
                }

                await pipe.Writer.CompleteAsync();
            },
            TestContext.Current.CancellationToken);

        var reader = new SpiceMessageReader(miniHeader: true, 4096);
        var types = new List<ushort>();
        while (true)
        {
            var result = await pipe.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            var buffer = result.Buffer;
            while (reader.TryRead(ref buffer, out var message))
            {
                types.Add(message.Type);
                if (message.Type == (ushort)SpiceMsg.Ping)
                {
                    Assert.Equal(new SpicePing(7, 123456789, 300), SpicePing.Parse(message.Body));
                }
            }

            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await produce.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal([(ushort)SpiceMsg.Ping, (ushort)SpiceMsg.SetAck], types);
    }

    [Fact]
    public void SubMessageList_KnownBytes_EnumeratesAtEverySplit()
    {
        var body = ParserAssert.Hex(ListBodyHex);
        foreach (var shape in TestSequence.Shapes(body))
        {
            var items = new List<(ushort Type, byte[] Body)>();
            foreach (var sub in SpiceSubMessageList.Enumerate(shape))
            {
                items.Add((sub.Type, sub.Body.ToArray()));
            }

            Assert.Equal(2, items.Count);
            Assert.Equal((ushort)SpiceDisplayMsg.InvalList, items[0].Type);
            Assert.Equal(ParserAssert.Hex("010000000000"), items[0].Body);
            Assert.Equal((ushort)SpiceMsg.WaitForChannels, items[1].Type);
            Assert.Equal([0], items[1].Body);
        }
    }

    [Fact]
    public void SubMessageList_Write_MatchesKnownBytesAndRoundTrips()
    {
        var writer = new SpiceMessageWriter(miniHeader: true);
        SpiceSubMessageData[] items =
        [
            new((ushort)SpiceDisplayMsg.InvalList, ParserAssert.Hex("010000000000")),
            new((ushort)SpiceMsg.WaitForChannels, new byte[] { 0 }),
        ];
        var bytes = ParserAssert.Bytes(w => SpiceSubMessageList.WriteList(writer, w, items));
        Assert.Equal(ParserAssert.Hex("0800 1D000000" + ListBodyHex), bytes);

        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(new SpiceMessageReader(true, 1024).TryRead(ref buffer, out var list));
        Assert.Equal((ushort)SpiceMsg.List, list.Type);
        var enumerator = SpiceSubMessageList.Enumerate(list.Body);
        Assert.Equal(2, enumerator.Count);
    }

    [Fact]
    public void FullHeader_SubList_EnumeratesFromOffset()
    {
        // Full header with a main body of 4 bytes, then a list at offset 4 with one SET_ACK sub-message.
        var body = ParserAssert.Hex("AABBCCDD 0100 0A000000 0300 08000000 02000000 28000000");
        var writer = new SpiceMessageWriter(miniHeader: false);
        var bytes = ParserAssert.Bytes(w => writer.Write(w, 999, new ReadOnlySequence<byte>(body), subListOffset: 4));
        var buffer = TestSequence.BytePerSegment(bytes);
        Assert.True(new SpiceMessageReader(false, 1024).TryRead(ref buffer, out var message));
        Assert.Equal(4u, message.SubListOffset);
        var count = 0;
        foreach (var sub in SpiceSubMessageList.Enumerate(message.Body, message.SubListOffset))
        {
            Assert.Equal(new SpiceSetAck(2, 40), SpiceSetAck.Parse(sub.Body));
            count++;
        }

        Assert.Equal(1, count);
    }

    [Theory]
    [InlineData("0100")] // one entry, no offset
    [InlineData("0100 FFFFFFFF")] // offset far outside
    [InlineData("0100 06000000")] // sub-message header does not fit
    [InlineData("0100 06000000 0300 09000000 0000")] // size overruns the body
    [InlineData("00")] // shorter than the count
    public void SubMessageList_Malformed_ThrowsProtocolError(string hex)
    {
        var body = new ReadOnlySequence<byte>(ParserAssert.Hex(hex));
        var ex = Assert.Throws<SpiceProtocolException>(() =>
        {
            foreach (var sub in SpiceSubMessageList.Enumerate(body))
            {
                _ = sub.Type;
            }
        });
        Assert.Equal(SpiceProtocolError.InvalidSubMessageList, ex.Error);
    }

    [Fact]
    public void MiniHeaderWriter_SubListOffset_IsRejected()
    {
        var writer = new SpiceMessageWriter(miniHeader: true);
        Assert.Throws<InvalidOperationException>(() => writer.WriteHeader(new ArrayBufferWriter<byte>(), 1, 10, subListOffset: 4));
    }

    [Fact]
    public void FramingAndAckResponse_SteadyState_AllocateNothing()
    {
        var source = new SpiceMessageWriter(miniHeader: true);
        var input = new ArrayBufferWriter<byte>();
        source.Write(input, new SpiceSetAck(1, 20));
        for (var i = 0; i < 400; i++)
        {
            source.Write(input, (ushort)SpiceDisplayMsg.DrawCopy, new byte[i % 50]);
        }

        var bytes = input.WrittenSpan.ToArray();
        var replies = new ArrayBufferWriter<byte>(64 * 1024);
        Run(TestSequence.RandomSplit(bytes, 3), new SpiceMessageReader(true, 1 << 20), new ServerLegAckResponder(), new SpiceMessageWriter(true), replies); // JIT warm-up
        replies.Clear();

        var sequence = TestSequence.RandomSplit(bytes, 3);
        var reader = new SpiceMessageReader(miniHeader: true, 1 << 20);
        var responder = new ServerLegAckResponder();
        var writer = new SpiceMessageWriter(miniHeader: true);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var messages = Run(sequence, reader, responder, writer, replies);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(401, messages);
        Assert.Equal(20, responder.AcksProduced);
        Assert.Equal(0, allocated);

        static int Run(ReadOnlySequence<byte> buffer, SpiceMessageReader reader, ServerLegAckResponder responder, SpiceMessageWriter writer, ArrayBufferWriter<byte> replies)
        {
            var count = 0;
            while (reader.TryRead(ref buffer, out var message))
            {
                responder.WriteReplies(responder.OnServerMessage(message.Type, message.Body), writer, replies);
                count++;
            }

            return count;
        }
    }

    [Fact]
    public void FramingLimits_PerChannel_DisplayLargestInputsSmallest()
    {
        var limits = SpiceFramingLimits.Default;
        Assert.Equal(64 * 1024 * 1024, limits.For(SpiceChannelType.Display));
        Assert.True(limits.For(SpiceChannelType.Inputs) < limits.For(SpiceChannelType.Main));
        Assert.True(limits.For(SpiceChannelType.Main) >= SpicePing.FixedLength + 256_000);
        Assert.Equal(1024, (limits with { MaxInputsMessage = 1024 }).For(SpiceChannelType.Inputs));
    }
}
