using System.Buffers;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

public sealed class SpiceLinkPassThroughTests
{
    private static readonly SpiceLinkMess s_displayMess = new(
        77,
        SpiceChannelType.Display,
        0,
        SpiceCapabilitySet.FromWords([0x09]),
        SpiceCapabilitySet.FromWords([0x3BF]));

    private static byte[] ReplyBytes(SpiceLinkError error = SpiceLinkError.Ok, uint common = 0x0B) =>
        ParserAssert.Bytes(new SpiceLinkReply(error, new byte[162], SpiceCapabilitySet.FromWords([common]), SpiceCapabilitySet.FromWords([0x1052])).WriteTo);

    [Fact]
    public void FullLink_SplitAtEveryByte_WalksAllStagesAndForwardsRawBytes()
    {
        var clientBytes = ParserAssert.Bytes(w =>
        {
            s_displayMess.WriteTo(w);
            SpiceLinkAuth.WriteAuthMechanism(w, SpiceAuthMechanism.Spice);
            SpiceLinkAuth.WriteEncryptedTicket(w, Enumerable.Range(0, 128).Select(i => (byte)i).ToArray());
        });
        var serverBytes = ParserAssert.Bytes(w =>
        {
            new SpiceLinkReply(SpiceLinkError.Ok, new byte[162], SpiceCapabilitySet.FromWords([0x0B]), SpiceCapabilitySet.FromWords([0x1052])).WriteTo(w);
            SpiceLinkAuth.WriteLinkResult(w, SpiceLinkError.Ok);
            new SpiceMessageWriter(true).Write(w, new SpiceSetAck(1, 20)); // message phase, must stay unread
        });

        for (var seed = 0; seed < 30; seed++)
        {
            var link = new SpiceLinkPassThrough();
            var fromClient = TestSequence.RandomSplit(clientBytes, seed);
            var fromServer = TestSequence.RandomSplit(serverBytes, seed + 100);
            var forwardedUp = new ArrayBufferWriter<byte>();
            var forwardedDown = new ArrayBufferWriter<byte>();
            var kinds = new List<SpiceLinkItemKind>();

            // The phase is request/response: reading the "wrong" side yields nothing and consumes nothing.
            Assert.False(link.TryReadFromServer(ref fromServer, out _));
            Assert.Equal(serverBytes.Length, fromServer.Length);

            while (link.Stage is not (SpiceLinkStage.Linked or SpiceLinkStage.Refused))
            {
                var progressed = false;
                while (link.TryReadFromClient(ref fromClient, out var up))
                {
                    kinds.Add(up.Kind);
                    Write(forwardedUp, up.Raw);
                    progressed = true;
                }

                while (link.TryReadFromServer(ref fromServer, out var down))
                {
                    kinds.Add(down.Kind);
                    Write(forwardedDown, down.Raw);
                    progressed = true;
                }

                Assert.True(progressed, $"stuck at {link.Stage}");
            }

            Assert.Equal(SpiceLinkStage.Linked, link.Stage);
            Assert.Equal(
                [SpiceLinkItemKind.LinkMess, SpiceLinkItemKind.LinkReply, SpiceLinkItemKind.AuthMechanism, SpiceLinkItemKind.EncryptedTicket, SpiceLinkItemKind.LinkResult],
                kinds);
            Assert.Equal(clientBytes, forwardedUp.WrittenSpan.ToArray());
            Assert.Equal(serverBytes[..^14], forwardedDown.WrittenSpan.ToArray());
            Assert.Equal(14, fromServer.Length);
            Assert.Equal(SpiceAuthMechanism.Spice, link.AuthMechanism);
            Assert.Equal(SpiceLinkError.Ok, link.Result);
            Assert.True(link.ServerLegSession!.UseMiniHeader);
            Assert.Equal(77u, link.ClientLegSession!.ConnectionId);
        }
    }

    [Fact]
    public void RewrittenLinkMess_ServerLegSeesStrippedCaps_ClientLegKeepsOriginal()
    {
        var link = new SpiceLinkPassThrough();
        var up = new ReadOnlySequence<byte>(ParserAssert.Bytes(s_displayMess.WriteTo));
        Assert.True(link.TryReadFromClient(ref up, out _));
        link.ForwardClientMessage(LinkCapsRewriter.StripGlScanout(link.ClientMessage!));

        var down = new ReadOnlySequence<byte>([.. ReplyBytes(), .. ParserAssert.Bytes(w => SpiceLinkAuth.WriteLinkResult(w, SpiceLinkError.Ok))]);
        Assert.True(link.TryReadFromServer(ref down, out _));
        Assert.Equal(SpiceLinkStage.AwaitingAuthMechanism, link.Stage);

        var auth = new ReadOnlySequence<byte>(ParserAssert.Bytes(w =>
        {
            SpiceLinkAuth.WriteAuthMechanism(w, SpiceAuthMechanism.Spice);
            SpiceLinkAuth.WriteEncryptedTicket(w, new byte[128]);
        }));
        Assert.True(link.TryReadFromClient(ref auth, out _));
        Assert.True(link.TryReadFromClient(ref auth, out _));
        Assert.True(link.TryReadFromServer(ref down, out _));

        Assert.True(link.ClientLegSession!.ClientChannelCaps.Has((int)SpiceDisplayCap.GlScanout));
        Assert.False(link.ServerLegSession!.ClientChannelCaps.Has((int)SpiceDisplayCap.GlScanout));
    }

    [Fact]
    public void ErrorReply_EndsRefused()
    {
        var link = new SpiceLinkPassThrough();
        var up = new ReadOnlySequence<byte>(ParserAssert.Bytes(s_displayMess.WriteTo));
        Assert.True(link.TryReadFromClient(ref up, out _));
        var down = new ReadOnlySequence<byte>(ReplyBytes(SpiceLinkError.NeedSecured));
        Assert.True(link.TryReadFromServer(ref down, out var item));
        Assert.Equal(SpiceLinkItemKind.LinkReply, item.Kind);
        Assert.Equal(SpiceLinkStage.Refused, link.Stage);
        Assert.Equal(SpiceLinkError.NeedSecured, link.Result);
        Assert.Null(link.ServerLegSession);
    }

    [Fact]
    public void NoAuthSelection_TicketFollowsReplyDirectly()
    {
        var link = new SpiceLinkPassThrough();
        var up = new ReadOnlySequence<byte>(ParserAssert.Bytes((s_displayMess with { CommonCaps = SpiceCapabilitySet.FromWords([0x08]) }).WriteTo));
        Assert.True(link.TryReadFromClient(ref up, out _));
        var down = new ReadOnlySequence<byte>(ReplyBytes());
        Assert.True(link.TryReadFromServer(ref down, out _));
        Assert.Equal(SpiceLinkStage.AwaitingTicket, link.Stage);
    }

    [Theory]
    [InlineData(2u, (int)SpiceProtocolError.Unsupported)]
    [InlineData(9u, (int)SpiceProtocolError.InvalidValue)]
    public void AuthMechanism_SaslOrUnknown_Throws(uint mechanism, int expected)
    {
        var link = new SpiceLinkPassThrough();
        var up = new ReadOnlySequence<byte>(ParserAssert.Bytes(s_displayMess.WriteTo));
        Assert.True(link.TryReadFromClient(ref up, out _));
        var down = new ReadOnlySequence<byte>(ReplyBytes());
        Assert.True(link.TryReadFromServer(ref down, out _));
        var auth = new ReadOnlySequence<byte>(BitConverter.GetBytes(mechanism));
        var ex = Assert.Throws<SpiceProtocolException>(() => link.TryReadFromClient(ref auth, out _));
        Assert.Equal((SpiceProtocolError)expected, ex.Error);
    }

    [Fact]
    public void WaitForChannels_RoundTripAndTruncation()
    {
        SpiceChannelWait[] waits = [new(SpiceChannelType.Display, 1, 12345), new(SpiceChannelType.Display, 2, ulong.MaxValue)];
        var bytes = ParserAssert.Bytes(w => SpiceWaitForChannels.Write(new SpiceMessageWriter(true), w, waits));
        Assert.Equal(ParserAssert.Hex("0500 15000000 02 0201 3930000000000000 0202 FFFFFFFFFFFFFFFF"), bytes);
        foreach (var shape in TestSequence.Shapes(bytes[6..]))
        {
            Assert.Equal(waits, SpiceWaitForChannels.Parse(shape));
        }

        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceWaitForChannels.Parse(new ReadOnlySequence<byte>(bytes[6..^1])));
        Assert.Equal(SpiceProtocolError.Truncated, ex.Error);
    }

    private static void Write(ArrayBufferWriter<byte> output, ReadOnlySequence<byte> raw)
    {
        foreach (var segment in raw)
        {
            output.Write(segment.Span);
        }
    }
}
