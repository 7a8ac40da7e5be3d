using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

/// <summary>Starts one Xspice for the test class. If it cannot start, every test fails with the reason.</summary>
public sealed class XspiceFixture : IAsyncLifetime
{
    internal XspiceServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() =>
        Server = await XspiceServer.StartAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }
}

/// <summary>The link-phase and message code against a real spice-server (Xspice), over loopback TCP.</summary>
public sealed class XspiceServerTests : IClassFixture<XspiceFixture>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    // What spice-gtk sends on every channel: AUTH_SELECTION | MINI_HEADER.
    private static readonly SpiceCapabilitySet s_clientCommonCaps = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);

    private readonly XspiceServer _server;

    public XspiceServerTests(XspiceFixture fixture)
    {
        _server = fixture.Server;
    }

    [Fact]
    public async Task MainChannel_LinkWithEmptyPassword_ReceivesSaneInitNetTestAndChannels()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var main = await LinkMainAsync(ct);
        var link = main.Link!;

        // Link reply: a fresh 1024-bit RSA key as DER SubjectPublicKeyInfo, and the server's usual common caps.
        using (var rsa = RSA.Create())
        {
            rsa.ImportSubjectPublicKeyInfo(link.Reply!.PublicKey.Span, out var read);
            Assert.Equal(SpiceLinkReply.PublicKeyLength, read);
            Assert.Equal(1024, rsa.KeySize);
        }

        Assert.True(link.Reply!.CommonCaps.Has(SpiceCommonCap.ProtocolAuthSelection));
        Assert.True(link.Reply.CommonCaps.Has(SpiceCommonCap.AuthSpice));
        Assert.True(link.Reply.CommonCaps.Has(SpiceCommonCap.MiniHeader));
        Assert.Equal(SpiceAuthMechanism.Spice, link.Session!.AuthMechanism);
        Assert.True(link.Session.UseMiniHeader);

        // MAIN_INIT, then the three network-test pings queued right behind it.
        SpiceMainInit? init = null;
        var tracker = new NetTestTracker();
        var netTest = new List<SpicePing>();
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                if (m.Type == (ushort)SpiceMainMsg.Init)
                {
                    init = SpiceMainInit.Parse(m.Body);
                }

                if (tracker.OnServerMessage(m.Type, m.Body, out var ping) != NetTestPing.None)
                {
                    netTest.Add(ping);
                    main.Writer.Write(main.Output, ping.ToPong());
                }

                return netTest.Count == 3;
            },
            s_timeout,
            ct);

        Assert.NotNull(init);
        var value = init.Value;
        Assert.NotEqual(0u, value.SessionId);
        Assert.True((value.SupportedMouseModes & SpiceMouseMode.Server) != 0, $"supported mouse modes {value.SupportedMouseModes}");
        Assert.True((value.SupportedMouseModes & ~(SpiceMouseMode.Server | SpiceMouseMode.Client)) == 0, $"supported mouse modes {value.SupportedMouseModes}");
        Assert.True(value.CurrentMouseMode is SpiceMouseMode.Server or SpiceMouseMode.Client, $"current mouse mode {value.CurrentMouseMode}");
        Assert.True((value.SupportedMouseModes & value.CurrentMouseMode) != 0);
        Assert.InRange(value.DisplayChannelsHint, 1u, 16u);
        Assert.Equal(10u, value.AgentTokens); // REDS_AGENT_WINDOW_SIZE
        TestContext.Current.TestOutputHelper?.WriteLine($"MAIN_INIT: {value}");

        Assert.Equal(0, netTest[0].PaddingLength);
        Assert.Equal(0, netTest[1].PaddingLength);
        Assert.Equal(NetTestTracker.RatePingPadding, netTest[2].PaddingLength);
        Assert.Equal(netTest[0].Id + 1, netTest[1].Id);
        Assert.Equal(netTest[1].Id + 1, netTest[2].Id);

        var channels = await AttachChannelsAsync(main, ct);
        Assert.Contains(new SpiceChannelId(SpiceChannelType.Display, 0), channels);
        Assert.Contains(new SpiceChannelId(SpiceChannelType.Inputs, 0), channels);
        Assert.Contains(new SpiceChannelId(SpiceChannelType.Cursor, 0), channels);
    }

    [Fact]
    public async Task MainChannel_TicketOf128ZeroBytes_IsDeniedEvenWithTicketingDisabled()
    {
        // spice-server decrypts the ticket before it looks at the ticketing setting: garbage fails the RSA-OAEP decrypt.
        var ct = TestContext.Current.CancellationToken;
        await using var channel = await SpiceTestChannel.ConnectAsync(_server.EndPoint, ct);
        new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_clientCommonCaps, SpiceCapabilitySet.Empty).WriteTo(channel.Output);
        await channel.FlushAsync(ct);

        var reply = await ReadLinkItemAsync<SpiceLinkReply?>(
            channel,
            (ref ReadOnlySequence<byte> b, out SpiceLinkReply? r) => SpiceLinkReply.TryParse(ref b, SpiceLinkHeader.DefaultMaxSize, out r),
            ct);
        Assert.Equal(SpiceLinkError.Ok, reply!.Error);

        SpiceLinkAuth.WriteAuthMechanism(channel.Output, SpiceAuthMechanism.Spice);
        SpiceLinkAuth.WriteEncryptedTicket(channel.Output, new byte[SpiceLinkAuth.EncryptedTicketLength]);
        await channel.FlushAsync(ct);

        var result = await ReadLinkItemAsync<SpiceLinkError>(channel, SpiceLinkAuth.TryReadLinkResult, ct);
        Assert.Equal(SpiceLinkError.PermissionDenied, result);
    }

    [Fact]
    public async Task InputsChannel_EightMotions_ServerAcksEveryFourthLikeTheResponder()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var main = await LinkMainAsync(ct);
        var init = await ReadInitAsync(main, ct);
        await AttachChannelsAsync(main, ct);

        await using var inputs = await SpiceTestChannel.LinkAsync(
            _server.EndPoint,
            new SpiceLinkMess(init.SessionId, SpiceChannelType.Inputs, 0, s_clientCommonCaps, SpiceCapabilitySet.Of((int)SpiceInputsCap.KeyScancode)),
            ct);
        Assert.Equal(SpiceChannelType.Inputs, inputs.Link!.Session!.ChannelType);

        await inputs.ReadUntilAsync((in SpiceMessage m) => m.Type == (ushort)SpiceInputsMsg.Init, s_timeout, ct);

        var responder = new MotionAckResponder();
        var expectedAcks = 0;
        for (var i = 0; i < 8; i++)
        {
            var motion = new SpiceMouseMotion(1, 1, 0);
            inputs.Writer.Write(inputs.Output, motion);
            expectedAcks += responder.OnClientMessage(motion.MessageType) ? 1 : 0;
        }

        await inputs.FlushAsync(ct);
        Assert.Equal(2, expectedAcks);

        var acks = 0;
        await inputs.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                acks += MotionAckResponder.IsServerMotionAck(m.Type) ? 1 : 0;
                return acks == expectedAcks;
            },
            s_timeout,
            ct);
        Assert.Equal(expectedAcks, acks);
    }

    [Fact]
    public async Task DisplayChannel_AckResponderAnswering_ServerSendsFarBeyondTwoWindows()
    {
        var ct = TestContext.Current.CancellationToken;
        // Its own server: it leaves an xterm printing 200 000 lines and hangs up on a display channel in full flow,
        // which once took the class's shared Xspice down with it (the next test saw "connection reset").
        await using var own = await XspiceServer.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        var server = own;
        await using var main = await LinkMainAsync(server, ct);
        var init = await ReadInitAsync(main, ct);
        await AttachChannelsAsync(main, ct);

        // The client side would offer GL_SCANOUT; the edge strips it before the server sees it.
        var clientMess = new SpiceLinkMess(
            init.SessionId,
            SpiceChannelType.Display,
            0,
            s_clientCommonCaps,
            SpiceCapabilitySet.Of((int)SpiceDisplayCap.SizedStream, (int)SpiceDisplayCap.MonitorsConfig, (int)SpiceDisplayCap.Composite, (int)SpiceDisplayCap.A8Surface, (int)SpiceDisplayCap.GlScanout));
        await using var display = await SpiceTestChannel.LinkAsync(server.EndPoint, LinkCapsRewriter.StripGlScanout(clientMess), ct);
        Assert.False(display.Link!.Session!.ChannelCaps.Has((int)SpiceDisplayCap.GlScanout));

        // DISPLAY_INIT goes out at once, as spice-gtk does: the server queues SET_ACK but its worker blocks waiting
        // for DISPLAY_INIT (up to 30 s) before it sends anything.
        display.Writer.Write(display.Output, SpiceDisplayInit.SpiceGtkDefault);
        await display.FlushAsync(ct);

        var responder = new ServerLegAckResponder();
        var types = new List<ushort>();
        SpiceSurfaceCreate? primary = null;
        var sawMark = false;
        var activityStarted = false;
        await display.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                types.Add(m.Type);
                var replies = responder.OnServerMessage(m.Type, m.Body);
                responder.WriteReplies(replies, display.Writer, display.Output);
                if (m.Type == (ushort)SpiceDisplayMsg.SurfaceCreate)
                {
                    primary ??= SpiceSurfaceCreate.Parse(m.Body);
                }

                if (m.Type == (ushort)SpiceDisplayMsg.Mark)
                {
                    sawMark = true;
                }

                if (sawMark && !activityStarted)
                {
                    // Something that draws a lot: the server only keeps sending if our ACKs are right.
                    activityStarted = true;
                    server.StartClient("xterm", "-geometry", "100x40+0+0", "-hold", "-e", "seq", "1", "200000");
                }

                return sawMark && responder.AcksProduced >= 6;
            },
            TimeSpan.FromSeconds(60),
            ct);

        Assert.Equal((ushort)SpiceMsg.SetAck, types[0]);
        Assert.True(responder.Window is 20 or 40, $"window {responder.Window}");
        Assert.NotNull(primary);
        Assert.Equal(SpiceSurfaceCreate.PrimaryFlag, primary.Value.Flags & SpiceSurfaceCreate.PrimaryFlag);
        Assert.Equal(1024u, primary.Value.Width);
        Assert.Equal(768u, primary.Value.Height);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"display: {types.Count} messages, window {responder.Window}, {responder.AcksProduced} ACKs, types {string.Join(',', types.Distinct())}");

        // Without ACKs the server stops after 2 × window + 1 messages; we got well past that.
        Assert.True(types.Count > (2 * responder.Window) + 1, $"{types.Count} messages with window {responder.Window}");
        Assert.DoesNotContain((ushort)SpiceDisplayMsg.GlScanoutUnix, types);
    }

    [Fact]
    public async Task SpiceGtkClient_ThroughLinkAwareProxy_LinksEveryChannelAndTakesScreenshot()
    {
        // A real client (spice-gtk's spicy-screenshot) and a real server, with the pass-through link code and the
        // message framer between them on every channel connection.
        var ct = TestContext.Current.CancellationToken;
        await using var proxy = new LinkAwareProxy(_server.EndPoint);
        var directory = Directory.CreateTempSubdirectory("spicy-shot-");
        try
        {
            var shot = Path.Combine(directory.FullName, "shot.ppm");
            var start = new ProcessStartInfo("spicy-screenshot")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var arg in new[] { "-h", "127.0.0.1", "-p", proxy.Port.ToString(CultureInfo.InvariantCulture), "-o", shot })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment.Remove("DISPLAY");
            using var client = Process.Start(start)!;
            var stderr = client.StandardError.ReadToEndAsync(ct);
            var stdout = client.StandardOutput.ReadToEndAsync(ct);
            try
            {
                await client.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
            finally
            {
                if (!client.HasExited)
                {
                    client.Kill(entireProcessTree: true);
                }
            }

            var log = await stderr.WaitAsync(TimeSpan.FromSeconds(5), ct) + await stdout.WaitAsync(TimeSpan.FromSeconds(5), ct);
            Assert.True(client.ExitCode == 0, $"spicy-screenshot exited {client.ExitCode}: {log}; refused links: {string.Join(", ", proxy.Refusals)}; errors: {string.Join(", ", proxy.Errors)}");
            var header = (await File.ReadAllBytesAsync(shot, ct).WaitAsync(TimeSpan.FromSeconds(10), ct))[..12];
            Assert.Equal("P6\n1024 768\n"u8.ToArray(), header);

            Assert.Empty(proxy.Errors);
            var channels = proxy.Channels.ToArray();
            var main = Assert.Single(channels, c => c.Link.ServerLegSession!.ChannelType == SpiceChannelType.Main);
            var display = Assert.Single(channels, c => c.Link.ServerLegSession!.ChannelType == SpiceChannelType.Display);
            Assert.Equal(0u, main.Link.ClientMessage!.ConnectionId);
            Assert.All(channels, c => Assert.True(c.Link.ServerLegSession!.UseMiniHeader));
            Assert.All(channels, c => Assert.Equal(SpiceAuthMechanism.Spice, c.Link.AuthMechanism));
            Assert.False(display.Link.ForwardedClientMessage!.ChannelCaps.Has((int)SpiceDisplayCap.GlScanout));
            Assert.True(main.ServerTypes.ContainsKey((ushort)SpiceMainMsg.Init));
            Assert.True(display.ServerTypes.ContainsKey((ushort)SpiceDisplayMsg.SurfaceCreate));
            Assert.True(display.ServerTypes.ContainsKey((ushort)SpiceDisplayMsg.Mark));
            TestContext.Current.TestOutputHelper?.WriteLine(string.Join(
                "; ",
                channels.Select(c => $"{c.Link.ServerLegSession!.ChannelType}: offered {c.ClientOffered!.ChannelCaps} server {c.Link.ServerReply!.ChannelCaps}, {c.ServerToClientMessages} down / {c.ClientToServerMessages} up")));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private Task<SpiceTestChannel> LinkMainAsync(CancellationToken ct) => LinkMainAsync(_server, ct);

    private static async Task<SpiceTestChannel> LinkMainAsync(XspiceServer server, CancellationToken ct) =>
        await SpiceTestChannel.LinkAsync(
            server.EndPoint,
            new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_clientCommonCaps, SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid, (int)SpiceMainCap.AgentConnectedTokens)),
            ct);

    private static async Task<SpiceMainInit> ReadInitAsync(SpiceTestChannel main, CancellationToken ct)
    {
        SpiceMainInit init = default;
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
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

    /// <summary>Sends ATTACH_CHANNELS (answering pings meanwhile) and returns the CHANNELS_LIST.</summary>
    private static async Task<SpiceChannelId[]> AttachChannelsAsync(SpiceTestChannel main, CancellationToken ct)
    {
        main.Writer.Write(main.Output, new SpiceEmptyMessage((ushort)SpiceMainMsgc.AttachChannels));
        await main.FlushAsync(ct);
        SpiceChannelId[] channels = [];
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                if (m.Type == (ushort)SpiceMsg.Ping)
                {
                    main.Writer.Write(main.Output, SpicePing.Parse(m.Body).ToPong());
                }

                if (m.Type != (ushort)SpiceMainMsg.ChannelsList)
                {
                    return false;
                }

                channels = SpiceChannelsList.Parse(m.Body);
                return true;
            },
            s_timeout,
            ct);
        return channels;
    }

    private static async Task<T> ReadLinkItemAsync<T>(SpiceTestChannel channel, TryParseFunc<T> parse, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(s_timeout);
        while (true)
        {
            var result = await channel.Input.ReadAsync(cts.Token);
            var buffer = result.Buffer;
            if (parse(ref buffer, out var value))
            {
                channel.Input.AdvanceTo(buffer.Start);
                return value;
            }

            channel.Input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                throw new EndOfStreamException("The server closed the connection during the link phase.");
            }
        }
    }
}
