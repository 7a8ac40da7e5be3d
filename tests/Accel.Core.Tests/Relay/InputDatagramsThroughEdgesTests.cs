using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Accel.Core.Edges;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Tests.Spice;
using Accel.Core.Tests.TestSupport;

namespace Accel.Core.Tests.Relay;

/// <summary>
/// The inputs channel through a real edge pair (ngtcp2 over loopback unless E2E_SERVER_ENGINE / E2E_CLIENT_ENGINE name
/// another) to a real Xspice, in client mouse mode, with <c>xev</c> on the Xspice display reporting what spice-server
/// delivered: with pointer datagrams, against a server edge that refuses them as an older version does, and with an
/// engine connection that has no datagrams. On a pair without DATAGRAM frames every path is the stream fallback.
/// </summary>
public sealed partial class InputDatagramsThroughEdgesTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);
    private static readonly SpiceCapabilitySet s_common = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);
    private static readonly uint[] s_scancodes = [0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23]; // a s d f g h

    public enum Path
    {
        Datagrams,
        OlderServerEdge,
        NoDatagramsInTheEngine,
    }

    [Theory]
    [InlineData(Path.Datagrams)]
    [InlineData(Path.OlderServerEdge)]
    [InlineData(Path.NoDatagramsInTheEngine)]
    public async Task ClicksAndKeys_ReachXspiceOnceInOrder_EachClickWhereThePointerWas(Path path)
    {
        var ct = TestContext.Current.CancellationToken;
        var log = new RecordingLogger<ClientEdge>();
        await using var edges = new EdgePairFixture
        {
            ServerInputDatagrams = path != Path.OlderServerEdge,
            ClientMaxDatagramFrameSize = path == Path.NoDatagramsInTheEngine ? 0 : 1200,
            ClientInputRedundancy = InputRedundancyMode.Always,
            ClientLogger = log,
        };
        await edges.InitializeAsync();
        var events = new ConcurrentQueue<string>();
        using var xev = StartXev(edges.Xspice, events);
        await edges.Xspice.WaitForWindowAsync("inputsync", ct);

        var targets = new List<(int X, int Y)>();
        await using (var main = await SpiceTestChannel.LinkAsync(edges.EndPoint, new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_common, SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid)), ct))
        {
            var session = await ClientMouseModeAsync(main, ct);
            await using var inputs = await SpiceTestChannel.LinkAsync(edges.EndPoint, new SpiceLinkMess(session, SpiceChannelType.Inputs, 0, s_common, SpiceCapabilitySet.Of((int)SpiceInputsCap.KeyScancode)), ct);
            await inputs.ReadUntilAsync((in SpiceMessage m) => m.Type == (ushort)SpiceInputsMsg.Init, s_timeout, ct);
            for (var i = 0; i < s_scancodes.Length; i++)
            {
                var target = (X: 150 + (i * 97), Y: 120 + (i * 61));
                targets.Add(target);
                for (var step = 12; step >= 0; step -= 3)
                {
                    Write(inputs, new SpiceMousePosition((uint)(target.X - (step * 2)), (uint)(target.Y - step), 0, 0));
                }

                Write(inputs, new SpiceMouseButtonEvent(SpiceInputsMsgc.MousePress, 1, 1));
                Write(inputs, new SpiceMouseButtonEvent(SpiceInputsMsgc.MouseRelease, 1, 0));
                WriteKey(inputs, SpiceInputsMsgc.KeyDown, s_scancodes[i]);
                WriteKey(inputs, SpiceInputsMsgc.KeyUp, s_scancodes[i] | 0x80);
                await inputs.FlushAsync(ct);
            }

            var deadline = Stopwatch.StartNew();
            while (Xev.Parse(events).Keys.Count < s_scancodes.Length || Xev.Parse(events).Presses.Count < s_scancodes.Length)
            {
                Assert.True(deadline.Elapsed < s_timeout, $"xev saw {Xev.Parse(events).Presses.Count} clicks and {Xev.Parse(events).Keys.Count} keys of {s_scancodes.Length}: {string.Join(" | ", events)}");
                await Task.Delay(50, ct); // polling xev's output, bounded by the deadline
            }
        }

        var seen = Xev.Parse(events);
        Assert.Equal(targets, seen.Presses);
        Assert.Equal("asdfgh", string.Concat(seen.Keys));

        // The channel's end logs what its policies did: pointer datagrams and input copies only on the datagram path.
        // An engine pair without DATAGRAM frames (msquic at either edge) takes the fallback on every path: the client
        // edge asks for no datagram feature, so the clicks above landed where the pointer was with every position on
        // the inputs stream, no input copy was sent, and no server edge had a flag to refuse.
        await log.WaitForAsync(static e => e.Id == 1105 && e.Message.StartsWith("Channel inputs", StringComparison.Ordinal), s_timeout);
        var summary = string.Concat(log.Entries.Where(static e => e.Id == 1207 && e.Message.Contains("inputs", StringComparison.Ordinal)).Select(static e => e.Message));
        if (path == Path.Datagrams && edges.Datagrams)
        {
            Assert.Matches(@"[1-9]\d* pointer datagrams", summary);
            Assert.Matches(@"[1-9]\d* input copies", summary);
        }
        else
        {
            Assert.DoesNotContain("pointer datagrams", summary, StringComparison.Ordinal);
            Assert.DoesNotContain("input copies", summary, StringComparison.Ordinal);
        }

        Assert.Equal(path == Path.OlderServerEdge && edges.Datagrams, log.Entries.Any(static e => e.Id == 1109));
    }

    internal static void Write<T>(SpiceTestChannel channel, T message)
        where T : struct, ISpiceMessageBody => channel.Writer.Write(channel.Output, message);

    internal static void WriteKey(SpiceTestChannel channel, SpiceInputsMsgc kind, uint scancode)
    {
        Span<byte> body = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(body, scancode);
        channel.Writer.Write(channel.Output, (ushort)kind, body);
    }

    /// <summary>Main channel: INIT, ATTACH_CHANNELS, client mouse mode as spice-gtk asks for it; returns the session id.</summary>
    internal static async Task<uint> ClientMouseModeAsync(SpiceTestChannel main, CancellationToken ct)
    {
        uint session = 0;
        var mode = SpiceMouseMode.Server;
        var listed = false;
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                if (m.Type == (ushort)SpiceMsg.Ping)
                {
                    main.Writer.Write(main.Output, SpicePing.Parse(m.Body).ToPong());
                }

                if (m.Type == (ushort)SpiceMainMsg.Init)
                {
                    var init = SpiceMainInit.Parse(m.Body);
                    session = init.SessionId;
                    mode = init.CurrentMouseMode;
                    main.Writer.Write(main.Output, new SpiceEmptyMessage((ushort)SpiceMainMsgc.AttachChannels));
                    Span<byte> request = stackalloc byte[2];
                    BinaryPrimitives.WriteUInt16LittleEndian(request, (ushort)SpiceMouseMode.Client);
                    main.Writer.Write(main.Output, (ushort)SpiceMainMsgc.MouseModeRequest, request);
                }

                listed |= m.Type == (ushort)SpiceMainMsg.ChannelsList;
                if (m.Type == (ushort)SpiceMainMsg.MouseMode)
                {
                    mode = SpiceMainMouseMode.Parse(m.Body).Current;
                }

                return listed && mode == SpiceMouseMode.Client;
            },
            s_timeout,
            ct);
        return session;
    }

    internal static Process StartXev(XspiceServer xspice, ConcurrentQueue<string> events)
    {
        var start = new ProcessStartInfo("stdbuf") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DISPLAY"] = ":" + xspice.Display.ToString(CultureInfo.InvariantCulture);
        foreach (var a in new[] { "-oL", "xev", "-geometry", "1000x740+0+0", "-name", "inputsync", "-event", "button", "-event", "keyboard" })
        {
            start.ArgumentList.Add(a);
        }

        var xev = Process.Start(start) ?? throw new InvalidOperationException("cannot start xev (x11-utils)");
        xev.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                events.Enqueue(e.Data);
            }
        };
        xev.BeginOutputReadLine();
        xev.BeginErrorReadLine();
        return xev;
    }
}

/// <summary>xev's ButtonPress root positions and KeyPress keysyms, in order.</summary>
internal static partial class Xev
{
    public static (List<(int X, int Y)> Presses, List<string> Keys) Parse(IEnumerable<string> lines)
    {
        var presses = new List<(int, int)>();
        var keys = new List<string>();
        string? current = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("ButtonPress event", StringComparison.Ordinal) || line.StartsWith("KeyPress event", StringComparison.Ordinal))
            {
                current = line[..line.IndexOf(' ', StringComparison.Ordinal)];
            }
            else if (current == "ButtonPress" && RootRegex().Match(line) is { Success: true } root)
            {
                presses.Add((int.Parse(root.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(root.Groups[2].Value, CultureInfo.InvariantCulture)));
                current = null;
            }
            else if (current == "KeyPress" && KeysymRegex().Match(line) is { Success: true } key)
            {
                keys.Add(key.Groups[1].Value);
                current = null;
            }
        }

        return (presses, keys);
    }

    [GeneratedRegex(@"root:\((-?\d+),(-?\d+)\)")]
    private static partial Regex RootRegex();

    [GeneratedRegex(@"keysym 0x[0-9a-f]+, ([^)]+)\)")]
    private static partial Regex KeysymRegex();
}
