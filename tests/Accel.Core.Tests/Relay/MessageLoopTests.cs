using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Accel.Core.Relay;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Tests.Spice.Policies;

namespace Accel.Core.Tests.Relay;

/// <summary>One direction of the pump over in-memory pipes: framing once, streaming, policies, injections.</summary>
public sealed class MessageLoopTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task LargePassThroughBody_IsForwardedAsItArrives_NotBufferedWhole()
    {
        var ct = TestContext.Current.CancellationToken;
        var (source, output, destination, run) = Start([], SpiceDirection.ServerToClient, ct);

        // A 1 MiB draw announced, only its first 1000 body bytes sent.
        await source.Writer.WriteAsync(Header((ushort)SpiceDisplayMsg.DrawCopy, 1 << 20), ct);
        await source.Writer.WriteAsync(new byte[1000], ct);
        var got = await ReadAtLeastAsync(output.Reader, 6 + 1000, ct);
        Assert.Equal(6 + 1000, got.Length);
        Assert.True(destination.MidMessage);

        await source.Writer.WriteAsync(new byte[(1 << 20) - 1000], ct);
        await source.Writer.CompleteAsync();
        await run.WaitAsync(s_timeout, ct);
        Assert.False(destination.MidMessage);
    }

    [Fact]
    public async Task InjectedMessage_WaitsForTheEndOfAStreamingBody_ThenGoesBeforeTheNextMessage()
    {
        var ct = TestContext.Current.CancellationToken;
        var (source, output, destination, run) = Start([], SpiceDirection.ClientToServer, ct);
        var injector = destination.RunInjectionsAsync(ct);

        await source.Writer.WriteAsync(Header((ushort)SpiceMainMsgc.AgentData, 100), ct);
        await source.Writer.WriteAsync(new byte[40], ct);
        await ReadAtLeastAsync(output.Reader, 46, ct, consume: false);

        destination.Inject(SpiceEmptyMessage.Ack);
        await source.Writer.WriteAsync(new byte[60], ct);
        await source.Writer.WriteAsync(Header((ushort)SpiceMainMsgc.AgentData, 0), ct);
        await source.Writer.CompleteAsync();
        await run.WaitAsync(s_timeout, ct);

        Assert.True(output.Reader.TryRead(out var done));
        Assert.Equal(106 + 6 + 6, done.Buffer.Length);
        var all = done.Buffer.ToArray();
        var types = PolicyTestKit.Frame(all).ConvertAll(m => m.Type);
        Assert.Equal([(ushort)SpiceMainMsgc.AgentData, (ushort)SpiceMsgc.Ack, (ushort)SpiceMainMsgc.AgentData], types);
        GC.KeepAlive(injector);
    }

    [Fact]
    public async Task InspectedMessageAboveTheLimit_IsAProtocolViolation_BeforeItsBodyArrives()
    {
        var ct = TestContext.Current.CancellationToken;
        var (source, _, _, run) = Start([new GlFilterPolicy()], SpiceDirection.ServerToClient, ct, maxInspected: 1024);
        await source.Writer.WriteAsync(Header((ushort)SpiceDisplayMsg.GlScanoutUnix, 4096), ct);

        var ex = await Assert.ThrowsAsync<SpiceProtocolException>(() => run.WaitAsync(s_timeout, ct));
        Assert.Equal(SpiceProtocolError.MessageTooLarge, ex.Error);
    }

    [Fact]
    public async Task DroppedMessages_AreNotForwarded_AndTruncatedStreams_AreViolations()
    {
        var ct = TestContext.Current.CancellationToken;
        var (source, output, _, run) = Start([new GlFilterPolicy()], SpiceDirection.ServerToClient, ct);
        await source.Writer.WriteAsync(Header((ushort)SpiceDisplayMsg.GlDraw, 4), ct);
        await source.Writer.WriteAsync(new byte[4], ct);
        await source.Writer.WriteAsync(Header((ushort)SpiceDisplayMsg.Mark, 0), ct);
        await source.Writer.WriteAsync(Header((ushort)SpiceDisplayMsg.DrawCopy, 10), ct);
        await source.Writer.WriteAsync(new byte[3], ct);
        await source.Writer.CompleteAsync();

        var ex = await Assert.ThrowsAsync<SpiceProtocolException>(() => run.WaitAsync(s_timeout, ct));
        Assert.Equal(SpiceProtocolError.Truncated, ex.Error);
        var forwarded = await ReadAtLeastAsync(output.Reader, 6 + 6 + 3, ct);
        Assert.Equal((ushort)SpiceDisplayMsg.Mark, BinaryPrimitives.ReadUInt16LittleEndian(forwarded));
    }

    [Fact]
    public async Task MainPings_ArrivingInPieces_AreAnsweredOnceWhole_AndOnlyTheOtherMessagesAreForwarded()
    {
        var ct = TestContext.Current.CancellationToken;
        var toServer = new RecordingInjector();
        var (source, output, _, run) = Start([new MainPingPolicy(toServer)], SpiceDirection.ServerToClient, ct);

        // As spice-server sends it: MAIN_INIT, warm-up, latency and rate pings, then the channel list.
        var wire = new ArrayBufferWriter<byte>();
        var writer = new SpiceMessageWriter(miniHeader: true);
        wire.Write(Header((ushort)SpiceMainMsg.Init, 32));
        wire.Write(new byte[32]);
        new SpicePing(1, 10, 0).WriteTo(writer, wire);
        new SpicePing(2, 11, 0).WriteTo(writer, wire);
        new SpicePing(3, 12, 250 * 1024).WriteTo(writer, wire);
        wire.Write(Header((ushort)SpiceMainMsg.ChannelsList, 4));
        wire.Write(new byte[4]);
        var bytes = wire.WrittenMemory;
        for (var at = 0; at < bytes.Length; at += 7919)
        {
            await source.Writer.WriteAsync(bytes.Slice(at, Math.Min(7919, bytes.Length - at)), ct);
        }

        await source.Writer.CompleteAsync();
        await run.WaitAsync(s_timeout, ct);

        Assert.True(output.Reader.TryRead(out var done));
        Assert.Equal([(ushort)SpiceMainMsg.Init, (ushort)SpiceMainMsg.ChannelsList], PolicyTestKit.Frame(done.Buffer.ToArray()).ConvertAll(m => m.Type));
        Assert.Equal([1u, 2u, 3u], toServer.Messages.ConvertAll(m => SpicePong.Parse(new ReadOnlySequence<byte>(m.Body)).Id));
    }

    private static (Pipe Source, Pipe Output, LegWriter Destination, Task Run) Start(IChannelPolicy[] policies, SpiceDirection direction, CancellationToken ct, int maxInspected = 64 * 1024)
    {
        var source = new Pipe();
        var output = new Pipe(new PipeOptions(pauseWriterThreshold: 0)); // the tests read it after the fact
        var destination = new LegWriter(output.Writer);
        var loop = new MessageLoop(source.Reader, destination, direction, new SpiceMessageReader(true, 16 << 20), policies, maxInspected, "test");
        return (source, output, destination, Task.Run(() => loop.RunAsync(ct), ct));
    }

    private static byte[] Header(ushort type, uint size)
    {
        var header = new byte[SpiceDataHeader.MiniLength];
        BinaryPrimitives.WriteUInt16LittleEndian(header, type);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(2), size);
        return header;
    }

    private static async Task<byte[]> ReadAtLeastAsync(PipeReader reader, int count, CancellationToken ct, bool consume = true)
    {
        var result = await reader.ReadAtLeastAsync(count, ct).AsTask().WaitAsync(s_timeout, ct);
        var bytes = result.Buffer.ToArray();
        reader.AdvanceTo(consume ? result.Buffer.End : result.Buffer.Start, result.Buffer.End);
        return bytes;
    }
}
