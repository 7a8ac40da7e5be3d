using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Fuzz.Targets;

/// <summary>SPICE link phase, data headers, sub-message lists and the fixed-layout messages. Invalid data: <see cref="SpiceProtocolException"/>.</summary>
internal static class ProtocolTargets
{
    public static IEnumerable<FuzzTarget> All =>
    [
        new("link", "link phase both ways: SpiceLinkMess, SpiceLinkReply, auth mechanism, ticket, result (SpiceLinkPassThrough)", Link, LinkSeeds),
        new("data-header", "data headers (mini and full) framing a byte stream, then each message's sub-message list", DataHeader, DataHeaderSeeds),
        new("messages", "fixed-layout messages: set_ack, ping, wait_for_channels, main init, channels list, migration target, inputs", Messages, MessageSeeds),
        new("peer-datagrams", "edge-to-edge datagrams: pointer and input copies (InputWire), display previews (DisplayPreviewWire) and their draw", Datagrams, DatagramSeeds),
    ];

    /// <summary>u16 length of the client's bytes, the client's bytes, then the server's; both are read in link order.</summary>
    private static void Link(ReadOnlySpan<byte> input)
    {
        byte split = FuzzInput.TakeU8(ref input);
        int clientLength = Math.Min(FuzzInput.TakeU16(ref input), input.Length);
        var client = FuzzInput.Segments(input[..clientLength], split);
        var server = FuzzInput.Segments(input[clientLength..], (byte)(split >> 4));
        var link = new SpiceLinkPassThrough();
        try
        {
            bool progress = true;
            while (progress)
            {
                progress = link.TryReadFromClient(ref client, out _) | link.TryReadFromServer(ref server, out _);
            }
        }
        catch (SpiceProtocolException)
        {
        }
    }

    /// <summary>u8 (bit 0: full header, bits 1+: split), then the stream.</summary>
    private static void DataHeader(ReadOnlySpan<byte> input)
    {
        byte mode = FuzzInput.TakeU8(ref input);
        var buffer = FuzzInput.Segments(input, (byte)(mode >> 1));
        var reader = new SpiceMessageReader(miniHeader: (mode & 1) == 0, maxMessageSize: 64 * 1024);
        try
        {
            while (reader.TryRead(ref buffer, out var message))
            {
                if (message.SubListOffset != 0 || message.Type == (ushort)SpiceMsg.List)
                {
                    foreach (var sub in SpiceSubMessageList.Enumerate(message.Body, message.SubListOffset))
                    {
                        _ = sub.Body.Length;
                    }
                }
            }
        }
        catch (SpiceProtocolException)
        {
        }
    }

    /// <summary>u8 selector, then the body.</summary>
    private static void Messages(ReadOnlySpan<byte> input)
    {
        byte selector = FuzzInput.TakeU8(ref input);
        var body = FuzzInput.Segments(input, (byte)(selector >> 4));
        try
        {
            _ = (selector & 15) switch
            {
                0 => SpiceSetAck.Parse(body).Window,
                1 => SpiceAckSync.Parse(body).Generation,
                2 => SpicePing.Parse(body).Id,
                3 => SpicePong.Parse(body).Id,
                4 => (object)SpiceDisconnecting.Parse(body).Reason,
                5 => SpiceMigrate.Parse(body).Flags,
                6 => SpiceWaitForChannels.Parse(body).Length,
                7 => SpiceMainInit.Parse(body).SessionId,
                8 => SpiceMainMouseMode.Parse(body).Current,
                9 => SpiceChannelsList.Parse(body).Length,
                10 => SpiceMigrationTarget.Parse((ushort)SpiceMainMsg.MigrateBegin, body).Host,
                11 => SpiceMigrationTarget.Parse((ushort)SpiceMainMsg.MigrateSwitchHost, body).Host,
                12 => SpiceMigrationTarget.Parse((ushort)SpiceMainMsg.MigrateBeginSeamless, body).Host,
                13 => SpiceMouseMotion.Parse(body).Dx,
                14 => SpiceMousePosition.Parse(body).X,
                _ => SpiceMouseButtonEvent.Parse(SpiceInputsMsgc.MousePress, body).Button,
            };
        }
        catch (SpiceProtocolException)
        {
        }
    }

    private static void Datagrams(ReadOnlySpan<byte> input)
    {
        if (InputWire.TryReadHeader(input, out _, out _, out _, out var rest))
        {
            PointerState.TryRead(rest, out _);
        }

        if (DisplayPreviewWire.TryParseDatagram(input, out _, out _, out _, out var message) && message.Length >= 6)
        {
            try
            {
                DisplayDrawMessage.TryParse(DisplayPreviewWire.PreviewMessageType, message[6..], out _);
            }
            catch (SpiceProtocolException)
            {
            }
        }
    }

    private static IEnumerable<byte[]> DatagramSeeds()
    {
        var pointer = new byte[InputWire.PointerDatagramLength];
        InputWire.WriteHeader(pointer, InputWire.PointerKind, 4, 17);
        new PointerState(17, (ushort)SpiceInputsMsgc.MousePosition, 100, 200, 1, 0).Write(pointer.AsSpan(InputWire.DatagramHeaderLength));
        yield return pointer;
        var draw = DisplaySeeds.ForType(DisplayDrawMessage.DrawCopy).First();
        var preview = new byte[DisplayPreviewWire.DatagramHeaderLength + 6 + draw.Length];
        preview[0] = DisplayPreviewWire.DatagramKind;
        BinaryPrimitives.WriteUInt32LittleEndian(preview.AsSpan(9), 1); // preview number 1
        BinaryPrimitives.WriteUInt16LittleEndian(preview.AsSpan(DisplayPreviewWire.DatagramHeaderLength), DisplayPreviewWire.PreviewMessageType);
        BinaryPrimitives.WriteUInt32LittleEndian(preview.AsSpan(DisplayPreviewWire.DatagramHeaderLength + 2), (uint)draw.Length);
        draw.CopyTo(preview, DisplayPreviewWire.DatagramHeaderLength + 6);
        yield return preview;
    }

    private static IEnumerable<byte[]> LinkSeeds()
    {
        var common = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.AuthSpice, SpiceCommonCap.MiniHeader);
        foreach (var (channel, caps) in new[] { (SpiceChannelType.Main, SpiceCapabilitySet.Of(1, 2, 3)), (SpiceChannelType.Display, SpiceCapabilitySet.Of(0, 5, 9, 10, 13)) })
        {
            var client = new ArrayBufferWriter<byte>();
            new SpiceLinkMess(0x1234, channel, 0, common, caps).WriteTo(client);
            var server = new ArrayBufferWriter<byte>();
            new SpiceLinkReply(SpiceLinkError.Ok, new byte[SpiceLinkReply.PublicKeyLength], common, caps).WriteTo(server);
            SpiceLinkAuth.WriteAuthMechanism(client, SpiceAuthMechanism.Spice);
            SpiceLinkAuth.WriteEncryptedTicket(client, new byte[SpiceLinkAuth.EncryptedTicketLength]);
            SpiceLinkAuth.WriteLinkResult(server, SpiceLinkError.Ok);
            var seed = new byte[3 + client.WrittenCount + server.WrittenCount];
            BinaryPrimitives.WriteUInt16LittleEndian(seed.AsSpan(1), (ushort)client.WrittenCount);
            client.WrittenSpan.CopyTo(seed.AsSpan(3));
            server.WrittenSpan.CopyTo(seed.AsSpan(3 + client.WrittenCount));
            yield return seed;
        }
    }

    private static IEnumerable<byte[]> DataHeaderSeeds()
    {
        foreach (var mini in new[] { true, false })
        {
            var writer = new SpiceMessageWriter(mini);
            var output = new ArrayBufferWriter<byte>();
            output.Write([mini ? (byte)0 : (byte)1]);
            writer.Write(output, new SpiceSetAck(1, 20));
            writer.Write(output, new SpicePing(7, 1000, 16));
            SpiceSubMessageList.WriteList(writer, output, [new((ushort)SpiceMsg.Notify, new byte[] { 1, 2, 3 }), new((ushort)SpiceMsg.SetAck, new byte[8])]);
            yield return output.WrittenSpan.ToArray();
        }
    }

    private static IEnumerable<byte[]> MessageSeeds()
    {
        ISpiceMessageBody[] bodies =
        [
            new SpiceSetAck(1, 20), new SpiceAckSync(1), new SpicePing(7, 1000, 8), new SpicePong(7, 1000),
            new SpiceDisconnecting(5, SpiceLinkError.Ok), new SpiceMigrate(SpiceMigrateFlags.None),
        ];
        for (int i = 0; i < bodies.Length; i++)
        {
            var body = new byte[1 + bodies[i].BodyLength];
            body[0] = (byte)i;
            bodies[i].WriteBody(body.AsSpan(1));
            yield return body;
        }

        var main = new byte[1 + SpiceMainInit.Length];
        main[0] = 7;
        yield return main;
        yield return [9, 2, 0, 0, 0, 1, 0, 2, 0];
        var migration = new SpiceMigrationTarget { Kind = SpiceMainMsg.MigrateBegin, Host = "10.0.0.2", Port = 5900, SecurePort = 5901 };
        var written = new ArrayBufferWriter<byte>();
        migration.WriteTo(new SpiceMessageWriter(miniHeader: true), written);
        yield return [10, .. written.WrittenSpan[6..]];
        yield return [13, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0];
        yield return [14, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0];
        yield return [15, 1, 0, 0];
    }
}
