using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Accel.Core.Relay;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using Accel.Core.Tests.Spice;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Relay;

/// <summary>The message-aware relay between a real Xspice and a SPICE client built on our protocol layer.</summary>
public sealed class SpiceRelayThroughEdgesTests(EdgePairFixture edges) : IClassFixture<EdgePairFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private static readonly SpiceCapabilitySet s_common = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);

    [Fact]
    public async Task Inputs_EightMotions_AreAckedTwiceAndTheServerStillGetsThem()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var main = await LinkMainAsync(ct);
        var init = await ReadInitAsync(main, ct);
        await using var inputs = await LinkInputsAsync(init.SessionId, ct);

        for (var i = 0; i < 8; i++)
        {
            inputs.Writer.Write(inputs.Output, new SpiceMouseMotion(1, 1, 0));
        }

        await inputs.FlushAsync(ct);
        var acks = 0;
        await inputs.ReadUntilAsync((in SpiceMessage m) => (acks += MotionAckResponder.IsServerMotionAck(m.Type) ? 1 : 0) == 2, s_timeout, ct);

        Assert.Equal(2, acks);
    }

    [Fact]
    public async Task Display_ClientThatNeverAcks_StillGetsFarMoreThanTwoWindows_BecauseEachLegAcksItself()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var main = await LinkMainAsync(ct);
        var init = await ReadInitAsync(main, ct);
        await AttachAsync(main, ct);

        var mess = new SpiceLinkMess(init.SessionId, SpiceChannelType.Display, 0, s_common, SpiceCapabilitySet.Of((int)SpiceDisplayCap.SizedStream, (int)SpiceDisplayCap.MonitorsConfig, (int)SpiceDisplayCap.Composite, (int)SpiceDisplayCap.GlScanout));
        await using var display = await LinkAsync(mess, ct);

        // GL scanout was stripped on the way: the server saw a client without it.
        Assert.False(display.Link!.Session!.ChannelCaps.Has((int)SpiceDisplayCap.GlScanout));
        display.Writer.Write(display.Output, SpiceDisplayInit.SpiceGtkDefault);
        await display.FlushAsync(ct);

        // This client never sends ACK_SYNC or ACK. Directly, spice-server would stop after 2 × window + 1 messages.
        var messages = 0;
        SpiceSetAck? setAck = null;
        System.Diagnostics.Process? drawing = null;
        try
        {
            await display.ReadUntilAsync(
                (in SpiceMessage m) =>
                {
                    messages++;
                    if (m.Type == (ushort)SpiceMsg.SetAck)
                    {
                        setAck = SpiceSetAck.Parse(m.Body);
                    }

                    if (m.Type == (ushort)SpiceDisplayMsg.Mark && drawing is null)
                    {
                        drawing = edges.Xspice.StartClient("xterm", "-geometry", "100x40+0+0", "-hold", "-e", "seq", "1", "200000");
                    }

                    return messages > 150;
                },
                TimeSpan.FromSeconds(60),
                ct);
        }
        finally
        {
            // The other tests share this Xspice: its display stops being flooded here.
            drawing?.Kill();
            drawing?.Dispose();
        }

        // The SET_ACK the client saw is the client edge's own (generation 1, its LAN window), not the server's.
        Assert.NotNull(setAck);
        Assert.Equal(1u, setAck.Value.Generation);
        Assert.Equal(SpiceRelaySettings.Default.ClientLegAckWindow, setAck.Value.Window);
        Assert.True(messages > (2 * 40) + 1);
    }

    /// <summary>
    /// A new session's main channel reaches the server edge while the old session's main is still open (a client that
    /// closes and reconnects at once: the two cross the edges on different streams, in either order): it waits for the
    /// old one to end at spice-server before it links, since a main link makes spice-server drop every client it has.
    /// </summary>
    [Fact]
    public async Task NewMainWhileTheOldIsStillOpen_LinksOnlyOnceTheOldHasEndedAtTheServer()
    {
        var ct = TestContext.Current.CancellationToken;
        var old = await LinkMainAsync(ct);
        await ReadInitAsync(old, ct);

        var since = DateTime.UtcNow;
        var linking = LinkMainAsync(ct);
        await edges.ServerLogger.WaitForAsync(e => e.Id == 1027 && e.At >= since, s_timeout); // the new main waits at the server edge
        await old.DisposeAsync();
        await using var main = await linking;
        var init = await ReadInitAsync(main, ct);
        await AssertMainAliveAsync(main, init.SessionId, ct);

        // The server edge's log: every main channel opened before the new one had ended when it opened.
        var lines = edges.ServerLogger.Entries.Where(static e => e.Message.StartsWith("Channel main", StringComparison.Ordinal)).ToList();
        var before = lines.Take(lines.FindLastIndex(static e => e.Id == 1004)).ToList();
        Assert.True(before.Count(static e => e.Id == 1004) > 0, edges.LogTail());
        Assert.True(before.Count(static e => e.Id == 1004) == before.Count(static e => e.Id is 1005 or 1006), "a main channel was still open at the server when the new one opened:\n" + edges.LogTail());
    }

    [Fact]
    public async Task OversizedMessage_ClosesOnlyThatChannel()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var main = await LinkMainAsync(ct);
        var init = await ReadInitAsync(main, ct);
        await using var inputs = await LinkInputsAsync(init.SessionId, ct);

        // A key-down announcing a gigabyte: refused from the header alone, nothing of the body is awaited.
        var header = new byte[SpiceDataHeader.MiniLength];
        BinaryPrimitives.WriteUInt16LittleEndian(header, (ushort)SpiceInputsMsgc.KeyDown);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(2), 1u << 30);
        inputs.Output.Write(header);
        await inputs.FlushAsync(ct);

        await AssertClosedAsync(inputs, ct);
        await AssertMainAliveAsync(main, init.SessionId, ct);
    }

    [Fact]
    public async Task PeerStoppingMidMessage_IsClosedCleanly()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var main = await LinkMainAsync(ct);
        var init = await ReadInitAsync(main, ct);
        await using var inputs = await LinkInputsAsync(init.SessionId, ct);

        var partial = new byte[SpiceDataHeader.MiniLength + 3];
        BinaryPrimitives.WriteUInt16LittleEndian(partial, (ushort)SpiceInputsMsgc.KeyDown);
        BinaryPrimitives.WriteUInt32LittleEndian(partial.AsSpan(2), 4);
        inputs.Output.Write(partial);
        await inputs.FlushAsync(ct);
        inputs.ShutdownSend();

        await AssertClosedAsync(inputs, ct);
        await AssertMainAliveAsync(main, init.SessionId, ct);
    }

    [Fact]
    public async Task MalformedMotion_IsAProtocolViolation_MainStaysUp()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var main = await LinkMainAsync(ct);
        var init = await ReadInitAsync(main, ct);
        await using var inputs = await LinkInputsAsync(init.SessionId, ct);

        // MOUSE_MOTION with a 2-byte body: the client edge checks every motion before it crosses the WAN and finds it truncated.
        var bad = new byte[SpiceDataHeader.MiniLength + 2];
        BinaryPrimitives.WriteUInt16LittleEndian(bad, (ushort)SpiceInputsMsgc.MouseMotion);
        BinaryPrimitives.WriteUInt32LittleEndian(bad.AsSpan(2), 2);
        inputs.Output.Write(bad);
        await inputs.FlushAsync(ct);

        await AssertClosedAsync(inputs, ct);
        await AssertMainAliveAsync(main, init.SessionId, ct);
    }

    private static async Task AttachAsync(SpiceTestChannel main, CancellationToken ct)
    {
        main.Writer.Write(main.Output, new SpiceEmptyMessage((ushort)SpiceMainMsgc.AttachChannels));
        await main.FlushAsync(ct);
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                if (m.Type == (ushort)SpiceMsg.Ping)
                {
                    main.Writer.Write(main.Output, SpicePing.Parse(m.Body).ToPong());
                }

                return m.Type == (ushort)SpiceMainMsg.ChannelsList;
            },
            s_timeout,
            ct);
    }

    private Task<SpiceTestChannel> LinkMainAsync(CancellationToken ct)
        => LinkAsync(new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_common, SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid)), ct);

    private async Task<SpiceTestChannel> LinkInputsAsync(uint session, CancellationToken ct)
    {
        var inputs = await LinkAsync(new SpiceLinkMess(session, SpiceChannelType.Inputs, 0, s_common, SpiceCapabilitySet.Of((int)SpiceInputsCap.KeyScancode)), ct);
        await inputs.ReadUntilAsync((in SpiceMessage m) => m.Type == (ushort)SpiceInputsMsg.Init, s_timeout, ct);
        return inputs;
    }

    /// <summary>Links a channel through the edges; a refused link fails with both edges' newest log lines.</summary>
    private async Task<SpiceTestChannel> LinkAsync(SpiceLinkMess message, CancellationToken ct)
    {
        try
        {
            return await SpiceTestChannel.LinkAsync(edges.EndPoint, message, ct);
        }
        catch (IOException ex)
        {
            throw new IOException($"{ex.Message}\nedge log:\n{edges.LogTail()}\n{edges.Xspice.Diagnostics()}", ex);
        }
    }

    private static async Task<SpiceMainInit> ReadInitAsync(SpiceTestChannel main, CancellationToken ct)
    {
        SpiceMainInit init = default;
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                if (m.Type == (ushort)SpiceMsg.Ping)
                {
                    main.Writer.Write(main.Output, SpicePing.Parse(m.Body).ToPong());
                }

                if (m.Type != (ushort)SpiceMainMsg.Init)
                {
                    return false;
                }

                init = SpiceMainInit.Parse(m.Body);
                return true;
            },
            s_timeout,
            ct);
        return init;
    }

    /// <summary>The main channel still answers: ATTACH_CHANNELS gets the channel list.</summary>
    private static async Task AssertMainAliveAsync(SpiceTestChannel main, uint session, CancellationToken ct)
    {
        Assert.NotEqual(0u, session);
        main.Writer.Write(main.Output, new SpiceEmptyMessage((ushort)SpiceMainMsgc.AttachChannels));
        await main.FlushAsync(ct);
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                if (m.Type == (ushort)SpiceMsg.Ping)
                {
                    main.Writer.Write(main.Output, SpicePing.Parse(m.Body).ToPong());
                }

                return m.Type == (ushort)SpiceMainMsg.ChannelsList;
            },
            s_timeout,
            ct);
    }

    /// <summary>The channel is closed by the edge (EOF or reset) within the timeout.</summary>
    private static async Task AssertClosedAsync(SpiceTestChannel channel, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(s_timeout);
        try
        {
            while (true)
            {
                var result = await channel.Input.ReadAsync(cts.Token);
                channel.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (IOException)
        {
            // Reset by the edge: closed as well.
        }
        catch (SocketException)
        {
        }
    }
}
