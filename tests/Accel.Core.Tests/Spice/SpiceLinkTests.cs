using System.Buffers;
using System.Security.Cryptography;
using Accel.Core.Edges;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Transport;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

public sealed class SpiceLinkTests
{
    // spice-gtk's MAIN link: connection 0, channel 1/0, common caps 0x09 (AUTH_SELECTION | MINI_HEADER), main caps 0x0F.
    private const string MainLinkMessHex =
        "52454451 02000000 02000000 1A000000" + // "REDQ", major 2, minor 2, size 26
        "00000000 01 00 01000000 01000000 12000000" + // connection_id, type, id, 1 common word, 1 channel word, caps_offset 18
        "09000000 0F000000";

    [Fact]
    public void LinkMess_KnownBytes_ParseAtEverySplit()
    {
        var bytes = ParserAssert.Hex(MainLinkMessHex);
        ParserAssert.ParsesAtEverySplit<SpiceLinkMess?>(
            bytes,
            (ref ReadOnlySequence<byte> b, out SpiceLinkMess? m) => SpiceLinkMess.TryParse(ref b, SpiceLinkHeader.DefaultMaxSize, out m),
            m =>
            {
                Assert.NotNull(m);
                Assert.Equal(0u, m.ConnectionId);
                Assert.Equal(SpiceChannelType.Main, m.ChannelType);
                Assert.Equal(0, m.ChannelId);
                Assert.Equal(2u, m.MinorVersion);
                Assert.True(m.CommonCaps.Has(SpiceCommonCap.ProtocolAuthSelection));
                Assert.True(m.CommonCaps.Has(SpiceCommonCap.MiniHeader));
                Assert.False(m.CommonCaps.Has(SpiceCommonCap.AuthSpice));
                Assert.Equal([0x0Fu], m.ChannelCaps.Words.ToArray());
            });
    }

    [Fact]
    public void LinkMess_Write_MatchesKnownBytes()
    {
        var mess = new SpiceLinkMess(
            0,
            SpiceChannelType.Main,
            0,
            SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader),
            SpiceCapabilitySet.Of(0, 1, 2, 3));
        var bytes = ParserAssert.Bytes(mess.WriteTo);
        Assert.Equal(ParserAssert.Hex(MainLinkMessHex), bytes);
        Assert.Equal(bytes.Length, mess.TotalLength);
    }

    [Fact]
    public void LinkMess_CapsAtNonDefaultOffset_AreFound()
    {
        // caps_offset 22 with 4 filler bytes after the fixed part: legal, the parser must follow the offset.
        var bytes = ParserAssert.Hex("52454451 02000000 02000000 22000000 78563412 02 03 01000000 02000000 16000000 AAAAAAAA 08000000 80000000 01000000");
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(SpiceLinkMess.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out var mess));
        Assert.Equal(0x12345678u, mess!.ConnectionId);
        Assert.Equal(SpiceChannelType.Display, mess.ChannelType);
        Assert.Equal(3, mess.ChannelId);
        Assert.True(mess.CommonCaps.Has(SpiceCommonCap.MiniHeader));
        Assert.True(mess.ChannelCaps.Has((int)SpiceDisplayCap.GlScanout));
        Assert.True(mess.ChannelCaps.Has(32));
        Assert.Equal(0, buffer.Length);
    }

    [Fact]
    public void LinkMess_RoundTrip_KeepsEveryField()
    {
        var mess = new SpiceLinkMess(
            0xCAFEBABE,
            SpiceChannelType.UsbRedir,
            7,
            SpiceCapabilitySet.FromWords([0x0D, 0, 0x80000000]),
            SpiceCapabilitySet.Of((int)SpiceVmcCap.DataCompressLz4, 70))
        {
            MinorVersion = 3,
        };
        var bytes = ParserAssert.Bytes(mess.WriteTo);
        ParserAssert.ParsesAtEverySplit<SpiceLinkMess?>(
            bytes,
            (ref ReadOnlySequence<byte> b, out SpiceLinkMess? m) => SpiceLinkMess.TryParse(ref b, SpiceLinkHeader.DefaultMaxSize, out m),
            m => Assert.Equal(mess, m));
    }

    [Fact]
    public void LinkHeader_WrongMagic_ThrowsOnFirstByte()
    {
        var buffer = new ReadOnlySequence<byte>("G"u8.ToArray());
        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceLinkHeader.TryParse(ref buffer, 4096, out _));
        Assert.Equal(SpiceProtocolError.InvalidMagic, ex.Error);

        buffer = new ReadOnlySequence<byte>("GET / HTTP/1.1\r\n"u8.ToArray());
        ex = Assert.Throws<SpiceProtocolException>(() => SpiceLinkHeader.TryParse(ref buffer, 4096, out _));
        Assert.Equal(SpiceProtocolError.InvalidMagic, ex.Error);
    }

    [Fact]
    public void LinkHeader_MagicPrefix_WaitsForMore()
    {
        var buffer = new ReadOnlySequence<byte>("RED"u8.ToArray());
        Assert.False(SpiceLinkHeader.TryParse(ref buffer, 4096, out _));
        Assert.Equal(3, buffer.Length);
    }

    [Fact]
    public void LinkHeader_MajorVersion1_ThrowsUnsupportedVersion()
    {
        var buffer = new ReadOnlySequence<byte>(ParserAssert.Hex("52454451 01000000 02000000 12000000"));
        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceLinkHeader.TryParse(ref buffer, 4096, out _));
        Assert.Equal(SpiceProtocolError.UnsupportedVersion, ex.Error);
    }

    [Fact]
    public void LinkMess_SizeAboveMaximum_ThrowsBeforeBodyArrives()
    {
        // Only the 16-byte header is buffered: the size check must not wait for 5000 bytes.
        var buffer = new ReadOnlySequence<byte>(ParserAssert.Hex("52454451 02000000 02000000 88130000"));
        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceLinkMess.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out _));
        Assert.Equal(SpiceProtocolError.LinkMessageTooLarge, ex.Error);
    }

    [Fact]
    public void LinkMess_SizeBelowFixedPart_ThrowsTooSmall()
    {
        var buffer = new ReadOnlySequence<byte>(ParserAssert.Hex("52454451 02000000 02000000 10000000"));
        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceLinkMess.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out _));
        Assert.Equal(SpiceProtocolError.LinkMessageTooSmall, ex.Error);
    }

    [Theory]
    [InlineData("01000000 00000000 12000000")] // one common word at offset 18, but the body ends at 18
    [InlineData("01000000 00000000 04000000")] // caps inside the fixed part
    [InlineData("01040000 00000000 12000000")] // 1025 words
    public void LinkMess_CapsOutsideMessage_ThrowsInvalidCapabilities(string countsAndOffset)
    {
        var body = ParserAssert.Hex("00000000 01 00" + countsAndOffset);
        var header = ParserAssert.Hex("52454451 02000000 02000000").Concat(BitConverter.GetBytes(body.Length)).ToArray();
        var buffer = new ReadOnlySequence<byte>([.. header, .. body]);
        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceLinkMess.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out _));
        Assert.Equal(SpiceProtocolError.InvalidCapabilities, ex.Error);
    }

    [Fact]
    public void LinkReply_RoundTrip_ParsesAtEverySplit()
    {
        using var rsa = SpiceTicket.CreateKeyPair();
        var key = rsa.ExportSubjectPublicKeyInfo();
        Assert.Equal(SpiceLinkReply.PublicKeyLength, key.Length);
        var reply = new SpiceLinkReply(
            SpiceLinkError.Ok,
            key,
            SpiceCapabilitySet.FromWords([0x0B]),
            SpiceCapabilitySet.FromWords([0x1052]));
        var bytes = ParserAssert.Bytes(reply.WriteTo);

        // Header: "REDQ" 2.2, size 178 + 8; body: error 0, key, 1, 1, caps_offset 178.
        Assert.Equal(ParserAssert.Hex("52454451 02000000 02000000 BA000000 00000000"), bytes[..20]);
        Assert.Equal(ParserAssert.Hex("01000000 01000000 B2000000 0B000000 52100000"), bytes[^20..]);

        ParserAssert.ParsesAtEverySplit<SpiceLinkReply?>(
            bytes,
            (ref ReadOnlySequence<byte> b, out SpiceLinkReply? r) => SpiceLinkReply.TryParse(ref b, SpiceLinkHeader.DefaultMaxSize, out r),
            r =>
            {
                Assert.NotNull(r);
                Assert.Equal(SpiceLinkError.Ok, r.Error);
                Assert.Equal(key, r.PublicKey.ToArray());
                Assert.Equal(reply.CommonCaps, r.CommonCaps);
                Assert.True(r.ChannelCaps.Has((int)SpiceDisplayCap.PrefVideoCodecType));
            });
    }

    [Fact]
    public void LinkReply_ErrorReply_HasOnlyTheError()
    {
        var bytes = ParserAssert.Bytes(SpiceLinkReply.ForError(SpiceLinkError.NeedSecured).WriteTo);
        Assert.Equal(SpiceLinkHeader.Length + SpiceLinkReply.FixedLength, bytes.Length);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(SpiceLinkReply.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out var reply));
        Assert.Equal(SpiceLinkError.NeedSecured, reply!.Error);
        Assert.Equal(0, reply.CommonCaps.WordCount);
    }

    [Fact]
    public void AuthItems_RoundTrip_ParseAtEverySplit()
    {
        var mechanism = ParserAssert.Bytes(w => SpiceLinkAuth.WriteAuthMechanism(w, SpiceAuthMechanism.Spice));
        Assert.Equal(ParserAssert.Hex("01000000"), mechanism);
        ParserAssert.ParsesAtEverySplit<SpiceAuthMechanism>(mechanism, SpiceLinkAuth.TryReadAuthMechanism, m => Assert.Equal(SpiceAuthMechanism.Spice, m));

        var result = ParserAssert.Bytes(w => SpiceLinkAuth.WriteLinkResult(w, SpiceLinkError.PermissionDenied));
        Assert.Equal(ParserAssert.Hex("07000000"), result);
        ParserAssert.ParsesAtEverySplit<SpiceLinkError>(result, SpiceLinkAuth.TryReadLinkResult, r => Assert.Equal(SpiceLinkError.PermissionDenied, r));

        var ticket = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        var ticketBytes = ParserAssert.Bytes(w => SpiceLinkAuth.WriteEncryptedTicket(w, ticket));
        ParserAssert.ParsesAtEverySplit<ReadOnlySequence<byte>>(ticketBytes, SpiceLinkAuth.TryReadEncryptedTicket, t => Assert.Equal(ticket, t.ToArray()));
    }

    [Fact]
    public void Ticket_EncryptedWithServerKey_DecryptsToPassword()
    {
        using var rsa = SpiceTicket.CreateKeyPair();
        var ticket = SpiceTicket.Encrypt(rsa.ExportSubjectPublicKeyInfo(), "s3cret");
        Assert.Equal(SpiceLinkAuth.EncryptedTicketLength, ticket.Length);
        Assert.Equal("s3cret", SpiceTicket.TryDecrypt(rsa, ticket));

        // The NUL terminator is part of the plaintext, as spice-server expects.
        var raw = rsa.Decrypt(SpiceTicket.Encrypt(rsa.ExportSubjectPublicKeyInfo(), string.Empty), RSAEncryptionPadding.OaepSHA1);
        Assert.Equal([0], raw);
    }

    [Fact]
    public void Ticket_GarbageKey_ThrowsProtocolError()
    {
        var ex = Assert.Throws<SpiceProtocolException>(() => SpiceTicket.Encrypt(new byte[162], string.Empty));
        Assert.Equal(SpiceProtocolError.InvalidValue, ex.Error);
    }

    [Fact]
    public void AuthSelection_ServerCaps_ChooseLikeSpiceGtk()
    {
        var spiceOnly = SpiceCapabilitySet.FromWords([0x0B]);
        var saslToo = SpiceCapabilitySet.FromWords([0x0F]);
        var saslOnly = SpiceCapabilitySet.FromWords([0x0D]);
        Assert.Equal(SpiceAuthMechanism.Spice, SpiceLinkAuth.ChooseMechanism(spiceOnly, clientSupportsSasl: true));
        Assert.Equal(SpiceAuthMechanism.Sasl, SpiceLinkAuth.ChooseMechanism(saslToo, clientSupportsSasl: true));
        Assert.Equal(SpiceAuthMechanism.Spice, SpiceLinkAuth.ChooseMechanism(saslToo, clientSupportsSasl: false));
        Assert.Null(SpiceLinkAuth.ChooseMechanism(saslOnly, clientSupportsSasl: false));
        Assert.True(SpiceLinkAuth.UsesAuthSelection(SpiceCapabilitySet.FromWords([0x09]), spiceOnly));
        Assert.False(SpiceLinkAuth.UsesAuthSelection(SpiceCapabilitySet.FromWords([0x08]), spiceOnly));
    }

    [Fact]
    public void LinkSession_FromMessAndReply_NegotiatesCaps()
    {
        var mess = new SpiceLinkMess(42, SpiceChannelType.Display, 1, SpiceCapabilitySet.FromWords([0x09]), SpiceCapabilitySet.FromWords([0x0FFF]));
        var reply = new SpiceLinkReply(SpiceLinkError.Ok, new byte[162], SpiceCapabilitySet.FromWords([0x0B]), SpiceCapabilitySet.FromWords([0x1052]));
        var session = LinkSession.Create(mess, reply, SpiceAuthMechanism.Spice);
        Assert.Equal(SpiceChannelType.Display, session.ChannelType);
        Assert.Equal(1, session.ChannelId);
        Assert.Equal(42u, session.ConnectionId);
        Assert.True(session.UseMiniHeader);
        Assert.True(session.UsesAuthSelection);
        Assert.Equal(SpiceCapabilitySet.FromWords([0x09]), session.CommonCaps);
        Assert.Equal(SpiceCapabilitySet.FromWords([0x0052]), session.ChannelCaps);
        Assert.True(session.HasChannelCap((int)SpiceDisplayCap.StreamReport));
        Assert.False(session.HasChannelCap((int)SpiceDisplayCap.PrefVideoCodecType));
        Assert.Equal(ChannelClasses.Display, session.ChannelType.ToUrgency());

        var noMini = LinkSession.Create(mess with { CommonCaps = SpiceCapabilitySet.FromWords([0x01]) }, reply);
        Assert.False(noMini.UseMiniHeader);
    }

    [Fact]
    public void CapabilitySet_WithWithout_EditBitsAndKeepWordCount()
    {
        var set = SpiceCapabilitySet.FromWords([0, 0]).With(33);
        Assert.True(set.Has(33));
        Assert.Equal(2, set.WordCount);
        var cleared = set.Without(33);
        Assert.False(cleared.Has(33));
        Assert.Equal(2, cleared.WordCount);
        Assert.Equal(SpiceCapabilitySet.Empty, cleared);
        Assert.False(set.Has(-1));
        Assert.False(set.Has(5000));
    }
}
