using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text.RegularExpressions;
using Accel.Core.Diagnostics;
using Accel.Core.Edges;
using Accel.Core.Relay;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Tests.Spice;
using Accel.Core.Tests.Spice.Canvas;
using Accel.Core.Tests.Spice.Display;
using Accel.Core.Tests.TestSupport;

namespace Accel.Core.Tests.Relay;

/// <summary>
/// A session's datagram features across a resume, through a real edge pair (ngtcp2 unless E2E_SERVER_ENGINE /
/// E2E_CLIENT_ENGINE name another; without DATAGRAM frames the tests assert the stream fallback) whose UDP path runs through a relay
/// the test black-holes: the client edge judges the link down, connects anew once it is back and every channel resumes
/// there, while the server edge still holds the old connection. Pointer datagrams (inputs channel, xev on Xspice) and
/// display previews (spicy, the canvas with a tiny budget) must flow on the new connection, not stay with the old one.
/// </summary>
[Collection(DisplayMetricsCollection.Name)]
public sealed partial class ResumeThroughEdgesTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static readonly SpiceCapabilitySet s_common = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);

    [Fact]
    public async Task PointerDatagrams_AfterAnOutageAndResume_ReachTheServerEdgeOnTheNewConnection()
    {
        var ct = TestContext.Current.CancellationToken;
        var clientLog = new RecordingLogger<ClientEdge>();
        var serverLog = new RecordingLogger<ServerEdge>();
        await using var edges = new EdgePairFixture { ThroughRelay = true, ClientLogger = clientLog, ServerLogger = serverLog, ClientInputRedundancy = InputRedundancyMode.Off };
        await edges.InitializeAsync();
        var events = new ConcurrentQueue<string>();
        using var xev = InputDatagramsThroughEdgesTests.StartXev(edges.Xspice, events);
        await edges.Xspice.WaitForWindowAsync("inputsync", ct);

        var targets = new List<(int X, int Y)>();
        await using (var main = await SpiceTestChannel.LinkAsync(edges.EndPoint, new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_common, SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid)), ct))
        {
            var session = await InputDatagramsThroughEdgesTests.ClientMouseModeAsync(main, ct);
            await using var inputs = await SpiceTestChannel.LinkAsync(edges.EndPoint, new SpiceLinkMess(session, SpiceChannelType.Inputs, 0, s_common, SpiceCapabilitySet.Of((int)SpiceInputsCap.KeyScancode)), ct);
            await inputs.ReadUntilAsync((in SpiceMessage m) => m.Type == (ushort)SpiceInputsMsg.Init, s_timeout, ct);

            // Before: a key (no pointer datagram yet, so every one the server edge applies came after the resume).
            await TypeAsync(inputs, 0x1f, ct);
            await Eventually.UntilAsync(() => Xev.Parse(events).Keys.Count == 1, s_timeout, () => "xev saw no key before the outage: " + string.Join(" | ", events));

            // The outage: a key typed into it puts data in flight, so the client edge judges the link down.
            edges.Relay!.Blocked = true;
            await TypeAsync(inputs, 0x1e, ct);
            await clientLog.WaitForAsync(static e => e.Id == 1112, s_timeout);
            edges.Relay.Blocked = false;

            // Back: a new connection, the old one closed, both channels resumed on the new one.
            await Eventually.UntilAsync(() => clientLog.Count(1012) >= 1 && clientLog.Count(1020) >= 2, s_timeout, () => "the channels did not resume: " + Lines(clientLog));
            for (var i = 0; i < 3; i++)
            {
                await MoveAndClickAsync(inputs, targets, i, ct);
            }

            await Eventually.UntilAsync(() => Xev.Parse(events).Presses.Count == targets.Count && Xev.Parse(events).Keys.Count == 2, s_timeout, () => "xev: " + string.Join(" | ", events));
        }

        var seen = Xev.Parse(events);
        Assert.Equal(targets, seen.Presses);
        Assert.Equal("sa", string.Concat(seen.Keys)); // the key typed into the outage arrived once, in order
        Assert.True(edges.Relay.Dropped > 0, "the relay dropped nothing: no outage happened");
        if (!edges.Datagrams)
        {
            // An engine pair without DATAGRAM frames (msquic at either edge): the fallback. The clicks above landed
            // where the pointer was with every position on the resumed inputs stream; no pointer datagram was sent.
            await serverLog.WaitForAsync(static e => e.Id == 1005 && e.Message.StartsWith("Channel inputs", StringComparison.Ordinal), s_timeout);
            Assert.DoesNotContain(serverLog.Entries, static e => e.Message.Contains("pointer datagrams", StringComparison.Ordinal));
            Assert.DoesNotContain(clientLog.Entries, static e => e.Message.Contains("pointer datagrams", StringComparison.Ordinal));
            return;
        }

        // The server edge's summary of the inputs channel counts the pointer datagrams that reached it, applied or stale (a
        // datagram is stale when the click sent right after it came first on the stream: on loopback, a race). All were
        // sent after the resume, so they came on the new connection; when they stayed with the old one, none arrived.
        var summary = await serverLog.WaitForAsync(static e => e.Id == 1207 && e.Message.Contains("pointer datagrams applied", StringComparison.Ordinal), s_timeout);
        output.WriteLine(summary);
        var counts = AppliedRegex().Match(summary);
        var received = long.Parse(counts.Groups[1].Value, CultureInfo.InvariantCulture) + long.Parse(counts.Groups[2].Value, CultureInfo.InvariantCulture);
        Assert.True(received > 0, "no pointer datagram reached the server edge after the resume: " + summary);
    }

    /// <summary>
    /// Display previews follow the channel to the new connection. On an engine pair without DATAGRAM frames (msquic at
    /// either edge) the display channel takes the fallback: no preview is sent at all, and the channel resumed on the new
    /// connection still carries the picture (a window opened after the resume shows in spicy's picture).
    /// </summary>
    [Fact]
    public async Task DisplayPreviews_AfterAnOutageAndResume_ArriveOnTheNewConnection()
    {
        var ct = TestContext.Current.CancellationToken;
        var clientLog = new RecordingLogger<ClientEdge>();
        using var previews = new PreviewCounters();
        var tiny = new DisplayBudgetSettings { Floor = 16 * 1024, Ceiling = 16 * 1024, Fallback = 16 * 1024 };
        await using var edges = new EdgePairFixture
        {
            ThroughRelay = true,
            ClientLogger = clientLog,
            ServerRelay = new SpiceRelaySettings { DisplayCanvas = true, DisplayBudget = tiny },
            XspiceOptions = new Dictionary<string, string> { ["SpiceStreamingVideo"] = "off" },
        };
        await edges.InitializeAsync();
        await using var viewer = await SpicyViewer.StartAsync(edges.EndPoint.Port, ct);
        await DesktopActivity.RunAsync(edges.Xspice, ct);
        if (edges.Datagrams)
        {
            await Eventually.UntilAsync(() => previews.Received > 0, s_timeout, () => $"no preview before the outage (sent {previews.Sent})");
        }

        edges.Relay!.Blocked = true;
        await clientLog.WaitForAsync(static e => e.Id == 1112, s_timeout);
        edges.Relay.Blocked = false;

        // The old connection is closed (nothing more can come on it) and the channels resumed on the new one.
        await Eventually.UntilAsync(() => clientLog.Count(1012) >= 1 && clientLog.Count(1020) >= 1, s_timeout, () => "the channels did not resume: " + Lines(clientLog));
        long received = previews.Received, sent = previews.Sent;
        Assert.True(edges.Relay.Dropped > 0, "the relay dropped nothing: no outage happened");
        if (!edges.Datagrams)
        {
            await AssertPictureChangesAsync(edges, viewer, ct);
            Assert.True(previews.Sent == 0 && previews.Received == 0, $"previews without datagrams: sent {previews.Sent}, received {previews.Received}");
            return;
        }

        await DesktopActivity.RunAsync(edges.Xspice, ct);
        await Eventually.UntilAsync(() => previews.Received > received, s_timeout,
            () => $"no preview arrived after the resume: sent {previews.Sent - sent} since, received {previews.Received - received}; {Lines(clientLog)}");
        output.WriteLine($"previews before the outage: sent {sent}, received {received}; after the resume: sent {previews.Sent - sent}, received {previews.Received - received}");
    }

    /// <summary>A window opened on Xspice now shows in spicy's picture: the display channel works on its new connection.</summary>
    private static async Task AssertPictureChangesAsync(EdgePairFixture edges, SpicyViewer viewer, CancellationToken ct)
    {
        var before = await DisplayCanvasThroughEdgesTests.GrabAsync(edges.Xspice, viewer.Display, ct);
        edges.Xspice.StartClient("xlogo", "-bg", "red", "-geometry", "300x300+300+200");
        var deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            var now = await DisplayCanvasThroughEdgesTests.GrabAsync(edges.Xspice, viewer.Display, ct);
            var changed = now.Pixels.Length == before.Pixels.Length ? now.Pixels.Where((p, i) => p != before.Pixels[i]).Count() : now.Pixels.Length;
            if (changed > 10_000)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"spicy's picture did not show the window opened after the resume ({changed} pixels changed)");
            await Task.Delay(200, ct); // polling spicy's picture, bounded by the deadline
        }
    }

    /// <summary>Moves the pointer to target <paramref name="i"/> in five steps, then clicks.</summary>
    private static async Task MoveAndClickAsync(SpiceTestChannel inputs, List<(int X, int Y)> targets, int i, CancellationToken ct)
    {
        var target = (X: 150 + (i * 97), Y: 120 + (i * 61));
        targets.Add(target);
        for (var step = 12; step >= 0; step -= 3)
        {
            InputDatagramsThroughEdgesTests.Write(inputs, new SpiceMousePosition((uint)(target.X - (step * 2)), (uint)(target.Y - step), 0, 0));
        }

        InputDatagramsThroughEdgesTests.Write(inputs, new SpiceMouseButtonEvent(SpiceInputsMsgc.MousePress, 1, 1));
        InputDatagramsThroughEdgesTests.Write(inputs, new SpiceMouseButtonEvent(SpiceInputsMsgc.MouseRelease, 1, 0));
        await inputs.FlushAsync(ct);
    }

    private static async Task TypeAsync(SpiceTestChannel inputs, uint scancode, CancellationToken ct)
    {
        InputDatagramsThroughEdgesTests.WriteKey(inputs, SpiceInputsMsgc.KeyDown, scancode);
        InputDatagramsThroughEdgesTests.WriteKey(inputs, SpiceInputsMsgc.KeyUp, scancode | 0x80);
        await inputs.FlushAsync(ct);
    }

    private static string Lines<T>(RecordingLogger<T> log) => string.Join(" | ", log.Entries.Select(static e => e.Id + " " + e.Message));

    [GeneratedRegex(@"(\d+) pointer datagrams applied \((\d+) stale\)")]
    private static partial Regex AppliedRegex();

    /// <summary>spiceaccel.display.previews_sent (server edge) and previews_shown + previews_late (received by the client edge).</summary>
    private sealed class PreviewCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _sent, _received;

        public PreviewCounters()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == AccelMetrics.MeterName && instrument.Name is "spiceaccel.display.previews_sent" or "spiceaccel.display.previews_shown" or "spiceaccel.display.previews_late")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
                Interlocked.Add(ref instrument.Name == "spiceaccel.display.previews_sent" ? ref _sent : ref _received, value));
            _listener.Start();
        }

        public long Sent => Interlocked.Read(ref _sent);

        public long Received => Interlocked.Read(ref _received);

        public void Dispose() => _listener.Dispose();
    }
}
