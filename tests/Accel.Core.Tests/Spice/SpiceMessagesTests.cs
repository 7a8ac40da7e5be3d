using System.Buffers;
using Accel.Core.Edges;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Transport;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

public sealed class SpiceMessagesTests
{
    // MIGRATE_BEGIN to 10.0.0.5 port 5900 / tls 5901, no certificate subject: host at offset 20, size 9 (with NUL).
    private const string MigrateBeginHex = "0C17 0D17 09000000 14000000 00000000 00000000 31302E302E302E3500";

    [Fact]
    public void MessageTypes_Numbers_MatchSpiceEnumsHeader()
    {
        Assert.Equal(1, (int)SpiceMsg.Migrate);
        Assert.Equal(8, (int)SpiceMsg.List);
        Assert.Equal(100, (int)SpiceMsg.BaseLast);
        Assert.Equal(6, (int)SpiceMsgc.Disconnecting);
        Assert.Equal(103, (int)SpiceMainMsg.Init);
        Assert.Equal(111, (int)SpiceMainMsg.MigrateSwitchHost);
        Assert.Equal(116, (int)SpiceMainMsg.MigrateBeginSeamless);
        Assert.Equal(118, (int)SpiceMainMsg.MigrateDstSeamlessNack);
        Assert.Equal(112, (int)SpiceMainMsgc.QualityIndicator);
        Assert.Equal(126, (int)SpiceDisplayMsg.StreamDestroyAll);
        Assert.Equal(302, (int)SpiceDisplayMsg.DrawFill);
        Assert.Equal(320, (int)SpiceDisplayMsg.GlScanoutUnix);
        Assert.Equal(322, (int)SpiceDisplayMsg.QualityIndicator);
        Assert.Equal(105, (int)SpiceDisplayMsgc.PreferredVideoCodecType);
        Assert.Equal(111, (int)SpiceInputsMsg.MouseMotionAck);
        Assert.Equal(114, (int)SpiceInputsMsgc.MouseRelease);
        Assert.Equal(108, (int)SpiceCursorMsg.InvalAll);
        Assert.Equal(107, (int)SpicePlaybackMsg.Latency);
        Assert.Equal(104, (int)SpiceRecordMsg.Mute);
        Assert.Equal(103, (int)SpiceRecordMsgc.StartMark);
        Assert.Equal(108, (int)SpiceTunnelMsg.SocketToken);
        Assert.Equal(109, (int)SpiceTunnelMsgc.SocketToken);
        Assert.Equal(102, (int)SpiceVmcMsg.CompressedData);
        Assert.Equal(202, (int)SpicePortMsg.Event);
        Assert.Equal(201, (int)SpicePortMsgc.Event);
        Assert.Equal(11, (int)SpiceChannelType.WebDav);
    }

    [Theory]
    [InlineData((int)SpiceChannelType.Main, (int)SpiceDirection.ServerToClient, 3, "SetAck")]
    [InlineData((int)SpiceChannelType.Display, (int)SpiceDirection.ClientToServer, 2, "Ack")]
    [InlineData((int)SpiceChannelType.Display, (int)SpiceDirection.ServerToClient, 304, "DrawCopy")]
    [InlineData((int)SpiceChannelType.Inputs, (int)SpiceDirection.ClientToServer, 111, "MouseMotion")]
    [InlineData((int)SpiceChannelType.Port, (int)SpiceDirection.ServerToClient, 201, "Init")]
    [InlineData((int)SpiceChannelType.WebDav, (int)SpiceDirection.ClientToServer, 101, "Data")]
    [InlineData((int)SpiceChannelType.Display, (int)SpiceDirection.ServerToClient, 200, null)]
    [InlineData((int)SpiceChannelType.Cursor, (int)SpiceDirection.ClientToServer, 101, null)]
    [InlineData((int)SpiceChannelType.UsbRedir, (int)SpiceDirection.ServerToClient, 201, null)]
    public void MessageNames_TypeNumbers_ResolvePerChannelAndDirection(int channel, int direction, ushort type, string? name)
    {
        Assert.Equal(name, SpiceMessageNames.GetName((SpiceChannelType)channel, (SpiceDirection)direction, type));
    }

    [Theory]
    [InlineData((int)SpiceChannelType.Inputs, ChannelClasses.Input)]
    [InlineData((int)SpiceChannelType.Cursor, ChannelClasses.Cursor)]
    [InlineData((int)SpiceChannelType.Main, ChannelClasses.Main)]
    [InlineData((int)SpiceChannelType.Display, ChannelClasses.Display)]
    [InlineData((int)SpiceChannelType.Playback, ChannelClasses.Bulk)]
    [InlineData((int)SpiceChannelType.Record, ChannelClasses.Bulk)]
    [InlineData((int)SpiceChannelType.UsbRedir, ChannelClasses.Bulk)]
    [InlineData((int)SpiceChannelType.WebDav, ChannelClasses.Bulk)]
    [InlineData(200, ChannelClasses.Bulk)]
    public void ChannelType_ToUrgency_FollowsArchitecture(int channel, byte expected)
    {
        Assert.Equal(expected, ((SpiceChannelType)channel).ToUrgency());
    }

    [Fact]
    public void MainInit_KnownBytes_ParseAndRoundTrip()
    {
        var body = ParserAssert.Hex("78563412 01000000 03000000 02000000 01000000 0A000000 E8030000 00000040");
        foreach (var shape in TestSequence.Shapes(body))
        {
            var init = SpiceMainInit.Parse(shape);
            Assert.Equal(0x12345678u, init.SessionId);
            Assert.Equal(1u, init.DisplayChannelsHint);
            Assert.Equal(SpiceMouseMode.Server | SpiceMouseMode.Client, init.SupportedMouseModes);
            Assert.Equal(SpiceMouseMode.Client, init.CurrentMouseMode);
            Assert.Equal(1u, init.AgentConnected);
            Assert.Equal(10u, init.AgentTokens);
            Assert.Equal(1000u, init.MultiMediaTime);
            Assert.Equal(0x40000000u, init.RamHint);
            Assert.Equal(body, ParserAssert.Bytes(w => new SpiceMessageWriter(true).Write(w, init))[6..]);
        }

        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceMainInit.Parse(new ReadOnlySequence<byte>(body[..31])));
        Assert.Equal(SpiceProtocolError.Truncated, ex.Error);
    }

    [Fact]
    public void Ping_WithPadding_ParsesAndAnswersWithTwelveBytePong()
    {
        var writer = new SpiceMessageWriter(miniHeader: true);
        var ping = new SpicePing(3, 0x0102030405060708, 256_000);
        var bytes = ParserAssert.Bytes(w => ping.WriteTo(writer, w));
        Assert.Equal(6 + 12 + 256_000, bytes.Length);
        Assert.Equal(ParserAssert.Hex("0400 0CE80300 03000000 0807060504030201"), bytes[..18]);
        Assert.All(bytes[18..], b => Assert.Equal(0, b));

        var buffer = TestSequence.RandomSplit(bytes, 1);
        Assert.True(new SpiceMessageReader(true, SpiceFramingLimits.Default.MaxMainMessage).TryRead(ref buffer, out var message));
        var parsed = SpicePing.Parse(message.Body);
        Assert.Equal(ping, parsed);

        var pong = ParserAssert.Bytes(w => new SpiceMessageWriter(true).Write(w, parsed.ToPong()));
        Assert.Equal(ParserAssert.Hex("0300 0C000000 03000000 0807060504030201"), pong);
    }

    [Fact]
    public void Ping_WriteToAndWriteBody_ProduceSameBytes()
    {
        var ping = new SpicePing(9, 77, 40);
        var a = ParserAssert.Bytes(w => ping.WriteTo(new SpiceMessageWriter(true), w));
        var b = ParserAssert.Bytes(w => new SpiceMessageWriter(true).Write(w, ping));
        Assert.Equal(a, b);
    }

    [Fact]
    public void CommonBodies_RoundTrip()
    {
        AssertRoundTrip(new SpiceSetAck(5, 40), b => SpiceSetAck.Parse(b));
        AssertRoundTrip(new SpiceAckSync(5), b => SpiceAckSync.Parse(b));
        AssertRoundTrip(new SpicePong(1, ulong.MaxValue), b => SpicePong.Parse(b));
        AssertRoundTrip(new SpiceDisconnecting(99, SpiceLinkError.ChannelNotAvailable), b => SpiceDisconnecting.Parse(b));
        AssertRoundTrip(new SpiceMigrate(SpiceMigrateFlags.NeedFlush | SpiceMigrateFlags.NeedDataTransfer), b => SpiceMigrate.Parse(b));
        AssertRoundTrip(new SpiceMainMouseMode(SpiceMouseMode.Server | SpiceMouseMode.Client, SpiceMouseMode.Server), b => SpiceMainMouseMode.Parse(b));
        AssertRoundTrip(new SpiceMouseMotion(-5, 7, 1), b => SpiceMouseMotion.Parse(b));
        AssertRoundTrip(new SpiceMousePosition(1023, 767, 4, 1), b => SpiceMousePosition.Parse(b));
        AssertRoundTrip(new SpiceMouseButtonEvent(SpiceInputsMsgc.MousePress, 1, 1), b => SpiceMouseButtonEvent.Parse(SpiceInputsMsgc.MousePress, b));
    }

    [Fact]
    public void ChannelsList_RoundTrip_AndRejectsBadCount()
    {
        SpiceChannelId[] channels = [new(SpiceChannelType.Display, 0), new(SpiceChannelType.Inputs, 0), new(SpiceChannelType.Cursor, 0)];
        var bytes = ParserAssert.Bytes(w => SpiceChannelsList.Write(new SpiceMessageWriter(true), w, channels));
        Assert.Equal(ParserAssert.Hex("6800 0A000000 03000000 0200 0300 0400"), bytes);
        foreach (var shape in TestSequence.Shapes(bytes[6..]))
        {
            Assert.Equal(channels, SpiceChannelsList.Parse(shape));
        }

        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceChannelsList.Parse(new ReadOnlySequence<byte>(ParserAssert.Hex("FFFFFFFF 0200"))));
        Assert.Equal(SpiceProtocolError.InvalidValue, ex.Error);
    }

    [Fact]
    public void MigrateBegin_KnownBytes_ParseAtEverySplit()
    {
        var body = ParserAssert.Hex(MigrateBeginHex);
        foreach (var shape in TestSequence.Shapes(body))
        {
            var target = SpiceMigrationTarget.Parse((ushort)SpiceMainMsg.MigrateBegin, shape);
            Assert.Equal(SpiceMainMsg.MigrateBegin, target.Kind);
            Assert.Equal(5900, target.Port);
            Assert.Equal(5901, target.SecurePort);
            Assert.Equal("10.0.0.5", target.Host);
            Assert.Null(target.CertSubject);
        }

        var written = ParserAssert.Bytes(w => SpiceMigrationTarget.Parse((ushort)SpiceMainMsg.MigrateBegin, new ReadOnlySequence<byte>(body)).WriteTo(new SpiceMessageWriter(true), w));
        Assert.Equal(ParserAssert.Hex("6500 1D000000" + MigrateBeginHex), written);
    }

    [Fact]
    public void MigrateBeginSeamless_Redirect_RewritesHostPortAndOffsets()
    {
        var original = new SpiceMigrationTarget
        {
            Kind = SpiceMainMsg.MigrateBeginSeamless,
            Port = 5900,
            SecurePort = 5901,
            Host = "dst.example",
            CertSubject = "CN=dst",
            SourceMigrationVersion = 7,
        };
        var writer = new SpiceMessageWriter(miniHeader: true);
        var bytes = ParserAssert.Bytes(w => original.RedirectTo("127.0.0.1", 16000, 16001, null).WriteTo(writer, w));

        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(new SpiceMessageReader(true, 4096).TryRead(ref buffer, out var message));
        Assert.Equal((ushort)SpiceMainMsg.MigrateBeginSeamless, message.Type);
        var body = message.Body.ToArray();

        // Fixed part 24 bytes (DstInfo 20 + src_mig_version), host right after it.
        Assert.Equal(ParserAssert.Hex("803E 813E 0A000000 18000000 00000000 00000000 07000000"), body[..24]);
        Assert.Equal("127.0.0.1\0"u8.ToArray(), body[24..]);

        var parsed = SpiceMigrationTarget.Parse(message.Type, message.Body);
        Assert.Equal(original with { Host = "127.0.0.1", Port = 16000, SecurePort = 16001, CertSubject = null }, parsed);
    }

    [Fact]
    public void MigrateSwitchHost_WithSubjectAndReversedOrder_FollowsOffsets()
    {
        // Subject placed before the host: a parser must follow the pointers, not assume the order.
        var body = ParserAssert.Hex("0100 0200 02000000 1B000000 07000000 14000000 434E3D61626300 6800");
        var target = SpiceMigrationTarget.Parse((ushort)SpiceMainMsg.MigrateSwitchHost, new ReadOnlySequence<byte>(body));
        Assert.Equal("h", target.Host);
        Assert.Equal("CN=abc", target.CertSubject);
        Assert.Equal(1, target.Port);
        Assert.Equal(2, target.SecurePort);
    }

    [Theory]
    [InlineData("0C17 0D17 09000000 00000000 00000000 00000000")] // NULL host in MIGRATE_BEGIN
    [InlineData("0C17 0D17 09000000 14000000 00000000 00000000 3130")] // host overruns the body
    [InlineData("0C17 0D17 01000000 FF000000 00000000 00000000 00")] // host pointer outside
    public void MigrateBegin_BadPointers_ThrowInvalidOffset(string hex)
    {
        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceMigrationTarget.Parse((ushort)SpiceMainMsg.MigrateBegin, new ReadOnlySequence<byte>(ParserAssert.Hex(hex))));
        Assert.Equal(SpiceProtocolError.InvalidOffset, ex.Error);
    }

    private static void AssertRoundTrip<T>(T message, Func<ReadOnlySequence<byte>, T> parse)
        where T : struct, ISpiceMessageBody
    {
        var bytes = ParserAssert.Bytes(w => new SpiceMessageWriter(true).Write(w, message));
        Assert.Equal(6 + message.BodyLength, bytes.Length);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(new SpiceMessageReader(true, 1024).TryRead(ref buffer, out var framed));
        Assert.Equal(message.MessageType, framed.Type);
        foreach (var shape in TestSequence.Shapes(framed.Body.ToArray()))
        {
            Assert.Equal(message, parse(shape));
        }

        var truncated = framed.Body.Slice(0, framed.Body.Length - 1);
        var ex = Assert.Throws<SpiceProtocolException>(() => parse(truncated));
        Assert.Equal(SpiceProtocolError.Truncated, ex.Error);
    }
}
