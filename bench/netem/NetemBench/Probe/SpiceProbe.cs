using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Protocol;

namespace NetemBench.Probe;

/// <summary>
/// The benchmark's own SPICE client, built on Accel.Core's SPICE layer. It connects as spice-gtk does — main channel,
/// ATTACH_CHANNELS, then display (DISPLAY_INIT), inputs and cursor with the session id, ticket authentication, ACK
/// flow control, PONGs — and measures inside one session: key-to-echo (KEY_DOWN/KEY_UP on the inputs channel until the
/// first draw that touches the typing window arrives on the display channel), pointer motion (MOUSE_MOTION with
/// spice-gtk's rule of at most 8 unacknowledged motions, extra movement accumulated), display freshness (the frame
/// markers in the pixels of the client's picture, <see cref="ProbePicture"/>), and time to the first complete screen (DISPLAY_MARK).
/// </summary>
public sealed class SpiceProbe : IAsyncDisposable
{
    // spice-gtk's inputs rule: SPICE_INPUT_MOTION_ACK_BUNCH = 4, at most two bunches unacknowledged.
    private const int MotionAckBunch = 4;
    private const int MaxUnackedMotions = 2 * MotionAckBunch;

    private static readonly SpiceCapabilitySet s_commonCaps = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);

    private readonly ProbeChannel _main;
    private readonly ProbeChannel _display;
    private readonly ProbeChannel _inputs;
    private readonly ProbeChannel _cursor;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource<long> _firstMark = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _connectStarted;

    // Echo watch: armed by MeasureKeyEchoAsync, completed by the display loop.
    private ScreenRect _echoRegion;
    private TaskCompletionSource<long>? _echo;
    private long _lastRegionDraw;
    private ScreenRect? _quietRegion;

    // Motion state (spice-gtk's rule).
    private int _unackedMotions;
    private int _pendingDx;
    private int _pendingDy;
    private (int X, int Y)? _pendingPosition;
    private int _motionsSent;

    private SpiceProbe(ProbeChannel main, ProbeChannel display, ProbeChannel inputs, ProbeChannel cursor, long connectStarted, ProbePicture? picture)
    {
        _main = main;
        _display = display;
        _inputs = inputs;
        _cursor = cursor;
        _connectStarted = connectStarted;
        Picture = picture;
    }

    /// <summary>The client's picture, kept when the caller asked for it (freshness and photo latency are read from its pixels).</summary>
    public ProbePicture? Picture { get; }

    /// <summary>Debugging: told of every draw that touches the watched region (the probe verb's --trace).</summary>
    public Action<string>? TraceRegionDraws { get; set; }

    /// <summary>Seconds from the first TCP connect to DISPLAY_MARK (the server's "initial screen sent").</summary>
    public double? FirstScreenSeconds { get; private set; }

    public long DisplayBytes => _display.BytesRead;

    public long DisplayMessages => _display.MessagesRead;

    public long DrawMessages { get; private set; }

    /// <summary>The session runs in client mouse mode (MOUSE_POSITION, absolute), as spice-gtk asks for when it can.</summary>
    public bool ClientMouseMode { get; private init; }

    public static async Task<SpiceProbe> ConnectAsync(string? ns, IPEndPoint server, TimeSpan timeout, CancellationToken ct, ProbePicture? picture = null)
    {
        var started = Stopwatch.GetTimestamp();
        var main = await ProbeChannel.LinkAsync(ns, server, new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_commonCaps,
            SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid, (int)SpiceMainCap.AgentConnectedTokens)), timeout, ct);
        ProbeChannel? display = null, inputs = null, cursor = null;
        var mouseMode = SpiceMouseMode.Server;
        try
        {
            uint sessionId = 0;
            var supportedModes = SpiceMouseMode.Server;
            await main.ReadUntilAsync(
                (type, body) =>
                {
                    if (type == (ushort)SpiceMainMsg.Init)
                    {
                        var init = SpiceMainInit.Parse(body);
                        sessionId = init.SessionId;
                        mouseMode = init.CurrentMouseMode;
                        supportedModes = init.SupportedMouseModes;
                        return true;
                    }

                    return false;
                },
                timeout,
                ct);
            await main.SendAsync(new SpiceEmptyMessage((ushort)SpiceMainMsgc.AttachChannels), ct);
            // Like spice-gtk: ask for client mouse mode (absolute positions) whenever the server offers it.
            var wantClient = (supportedModes & SpiceMouseMode.Client) != 0 && mouseMode != SpiceMouseMode.Client;
            if (wantClient)
            {
                await main.SendAsync(new SpiceMouseModeRequest(SpiceMouseMode.Client), ct);
            }

            var listed = false;
            await main.ReadUntilAsync(
                (type, body) =>
                {
                    listed |= type == (ushort)SpiceMainMsg.ChannelsList;
                    if (type == (ushort)SpiceMainMsg.MouseMode)
                    {
                        mouseMode = SpiceMainMouseMode.Parse(body).Current;
                    }

                    return listed && (!wantClient || mouseMode == SpiceMouseMode.Client);
                },
                timeout,
                ct);

            // The caps spice-gtk 0.42 offers on the display channel, less GL_SCANOUT and the video codecs it would
            // have to decode (video streams then come as MJPEG, which every client takes and the probe's picture decodes).
            var displayCaps = SpiceCapabilitySet.Of((int)SpiceDisplayCap.SizedStream, (int)SpiceDisplayCap.MonitorsConfig,
                (int)SpiceDisplayCap.Composite, (int)SpiceDisplayCap.A8Surface, (int)SpiceDisplayCap.StreamReport,
                (int)SpiceDisplayCap.Lz4Compression, (int)SpiceDisplayCap.PrefCompression);
            display = await ProbeChannel.LinkAsync(ns, server, new SpiceLinkMess(sessionId, SpiceChannelType.Display, 0, s_commonCaps, displayCaps), timeout, ct);
            // The server's display worker waits for DISPLAY_INIT before anything else (src/Accel.Core/Spice/README.md).
            await display.SendAsync(SpiceDisplayInit.SpiceGtkDefault, ct);
            inputs = await ProbeChannel.LinkAsync(ns, server, new SpiceLinkMess(sessionId, SpiceChannelType.Inputs, 0, s_commonCaps, SpiceCapabilitySet.Empty), timeout, ct);
            cursor = await ProbeChannel.LinkAsync(ns, server, new SpiceLinkMess(sessionId, SpiceChannelType.Cursor, 0, s_commonCaps, SpiceCapabilitySet.Empty), timeout, ct);
        }
        catch
        {
            foreach (var c in new[] { cursor, inputs, display, main })
            {
                if (c is not null)
                {
                    await c.DisposeAsync();
                }
            }

            picture?.Dispose();
            throw;
        }

        var probe = new SpiceProbe(main, display, inputs, cursor, started, picture) { ClientMouseMode = mouseMode == SpiceMouseMode.Client };
        probe.StartLoops();
        try
        {
            await probe._firstMark.Task.WaitAsync(timeout, ct);
        }
        catch
        {
            await probe.DisposeAsync();
            throw;
        }

        return probe;
    }

    private void StartLoops()
    {
        var ct = _stop.Token;
        _loops.Add(Task.Run(() => _main.RunAsync(static (in SpiceMessage _, long _) => { }, null, ct), ct));
        _loops.Add(Task.Run(() => _cursor.RunAsync(static (in SpiceMessage _, long _) => { }, null, ct), ct));
        _loops.Add(Task.Run(() => _display.RunAsync(OnDisplayMessage, null, ct), ct));
        _loops.Add(Task.Run(() => _inputs.RunAsync(OnInputsMessage, null, ct), ct));
    }

    /// <summary>Why the session is broken (a channel failed or the server closed it), null while every channel is up.</summary>
    public string? BrokenReason()
    {
        try
        {
            ThrowIfBroken();
            return null;
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
    }

    /// <summary>KEY_DOWN + KEY_UP of one PC AT scancode, not waiting for any echo (the outage workload types blind).</summary>
    public ValueTask SendKeyAsync(uint scancode, CancellationToken ct)
        => _inputs.SendAsync(new SpiceKey((ushort)SpiceInputsMsgc.KeyDown, scancode), new SpiceKey((ushort)SpiceInputsMsgc.KeyUp, scancode | 0x80), ct);

    /// <summary>Completes with the arrival timestamp of the next draw that touches <paramref name="region"/> (replaces any watch armed before).</summary>
    public Task<long> NextDrawAsync(ScreenRect region)
    {
        var echo = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _echoRegion = region;
            _echo = echo;
        }

        return echo.Task;
    }

    /// <summary>A channel loop that ended (server closed, protocol error) fails the measurement instead of hanging it.</summary>
    private void ThrowIfBroken()
    {
        string[] names = ["main", "cursor", "display", "inputs"];
        for (var i = 0; i < _loops.Count; i++)
        {
            var t = _loops[i];
            if (t.IsFaulted)
            {
                throw new IOException($"the {names[i]} channel failed: {t.Exception!.GetBaseException().Message}", t.Exception);
            }

            if (t.IsCompleted && !_stop.IsCancellationRequested)
            {
                // spice-server drops a display client that cannot keep up ("flush timeout" in its log, after ~15 s).
                throw new IOException($"the server closed the {names[i]} channel");
            }
        }
    }

    private void OnDisplayMessage(in SpiceMessage message, long arrival)
    {
        Picture?.Apply(message, arrival);
        var type = message.Type;
        if (type == (ushort)SpiceDisplayMsg.Mark)
        {
            if (_firstMark.TrySetResult(arrival))
            {
                FirstScreenSeconds = Stopwatch.GetElapsedTime(_connectStarted, arrival).TotalSeconds;
            }

            return;
        }

        if (!ProbeDraws.TryReadDrawBase(message, out var surface, out var box) || surface != 0)
        {
            return;
        }

        lock (_gate)
        {
            DrawMessages++;
            if (TraceRegionDraws is { } trace && _quietRegion is { } tq && tq.Intersects(box))
            {
                trace($"draw {type} box {box} surface {surface}");
            }

            if (_quietRegion is { } q && q.Intersects(box))
            {
                _lastRegionDraw = arrival;
            }

            if (_echo is { } echo && _echoRegion.Intersects(box))
            {
                _echo = null;
                echo.TrySetResult(arrival);
            }
        }
    }

    private void OnInputsMessage(in SpiceMessage message, long arrival)
    {
        if (message.Type != (ushort)SpiceInputsMsg.MouseMotionAck)
        {
            return;
        }

        lock (_gate)
        {
            _unackedMotions = Math.Max(0, _unackedMotions - MotionAckBunch);
        }

        // spice-gtk sends the accumulated movement as soon as an ACK frees the window.
        _ = FlushMotionAsync(_stop.Token);
    }

    /// <summary>
    /// Types <paramref name="count"/> keys (alternately x and BackSpace, so the line never grows) into the window under
    /// the pointer. Before each key the typing region must have had no draw for 150 ms (at most 5 s); the latency is
    /// from just before KEY_DOWN/KEY_UP are written to the arrival of the first draw that touches <paramref name="region"/>.
    /// A key whose echo does not arrive within <paramref name="echoTimeout"/> counts as a timeout (the next key then waits
    /// up to twice as long again for that late echo, so it is not taken for its own). With a
    /// <paramref name="budget"/> no key is typed once the phase has run that long (the result says how many were). When
    /// the server closes a channel typing stops, and the result keeps what was measured and says why.
    /// </summary>
    public async Task<KeyEchoResult> MeasureKeyEchoAsync(int count, ScreenRect region, TimeSpan echoTimeout, CancellationToken ct, TimeSpan? budget = null)
    {
        const uint ScancodeX = 0x2D;
        const uint ScancodeBackspace = 0x0E;
        var latencies = new List<double>(count);
        var timeouts = 0;
        var quiet = TimeSpan.FromMilliseconds(150);
        lock (_gate)
        {
            _quietRegion = region;
            _lastRegionDraw = Stopwatch.GetTimestamp();
        }

        var phase = Stopwatch.GetTimestamp();
        var typed = 0;
        string? stoppedBy = null;
        try
        {
            for (; typed < count && (budget is not { } b || Stopwatch.GetElapsedTime(phase) < b); typed++)
            {
                await WaitQuietAsync(quiet, TimeSpan.FromSeconds(5), ct);
                var code = typed % 2 == 0 ? ScancodeX : ScancodeBackspace;
                var echo = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
                long sent;
                lock (_gate)
                {
                    _echoRegion = region;
                    _echo = echo;
                    sent = Stopwatch.GetTimestamp();
                }

                await _inputs.SendAsync(new SpiceKey((ushort)SpiceInputsMsgc.KeyDown, code), new SpiceKey((ushort)SpiceInputsMsgc.KeyUp, code | 0x80), ct);
                try
                {
                    var arrived = await echo.Task.WaitAsync(echoTimeout, ct);
                    latencies.Add(Stopwatch.GetElapsedTime(sent, arrived).TotalMilliseconds);
                }
                catch (TimeoutException)
                {
                    timeouts++;
                    ThrowIfBroken();
                    // Its echo may still be on the way: let it land (bounded), so it is not taken for the next key's.
                    await Task.WhenAny(echo.Task, Task.Delay(2 * echoTimeout, ct));
                    ct.ThrowIfCancellationRequested();
                    lock (_gate)
                    {
                        _echo = null;
                    }
                }

                // A human-like pause, not a sync point: the next key waits for a quiet region anyway.
                await Task.Delay(Random.Shared.Next(30, 90), ct);
            }
        }
        catch (IOException ex)
        {
            // spice-server dropped a channel (e.g. the display's "flush timeout"): the keys measured so far still count.
            stoppedBy = ex.Message;
        }
        finally
        {
            lock (_gate)
            {
                _quietRegion = null;
                _echo = null;
            }
        }

        return new KeyEchoResult(latencies, timeouts, typed) { StoppedBy = stoppedBy };
    }

    private async Task WaitQuietAsync(TimeSpan quiet, TimeSpan max, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            ThrowIfBroken();
            TimeSpan since;
            lock (_gate)
            {
                since = Stopwatch.GetElapsedTime(_lastRegionDraw);
            }

            if (since >= quiet || Stopwatch.GetElapsedTime(start) >= max)
            {
                return;
            }

            await Task.Delay(quiet - since, ct);
        }
    }

    /// <summary>
    /// Moves the pointer like a mouse at <paramref name="hz"/> events per second for <paramref name="duration"/>, from
    /// <paramref name="start"/> in steps of <paramref name="step"/> pixels, 40 steps right then 40 left (so it stays
    /// inside a window). In client mouse mode each event is an absolute MOUSE_POSITION, else a relative MOUSE_MOTION.
    /// Each goes out at once when fewer than 8 are unacknowledged, otherwise it is merged into the pending one (the
    /// latest position, or the summed movement) and sent when an ACK frees the window: spice-gtk's rule.
    /// </summary>
    public async Task<PointerRun> MovePointerAsync((int X, int Y) start, TimeSpan duration, int hz, int step, CancellationToken ct)
    {
        var startMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var sent0 = Volatile.Read(ref _motionsSent);
        var begin = Stopwatch.GetTimestamp();
        var moves = 0;
        var x = start.X;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / hz));
        while (Stopwatch.GetElapsedTime(begin) < duration && await timer.WaitForNextTickAsync(ct))
        {
            ThrowIfBroken();
            var dx = (moves / 40) % 2 == 0 ? step : -step;
            moves++;
            x += dx;
            lock (_gate)
            {
                if (ClientMouseMode)
                {
                    _pendingPosition = (x, start.Y);
                }
                else
                {
                    _pendingDx += dx;
                }
            }

            await FlushMotionAsync(ct);
        }

        return new PointerRun(startMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), Volatile.Read(ref _motionsSent) - sent0, moves);
    }

    private async Task FlushMotionAsync(CancellationToken ct)
    {
        SpiceMouseMotion motion = default;
        SpiceMousePosition position = default;
        bool absolute;
        lock (_gate)
        {
            absolute = _pendingPosition is not null;
            if ((!absolute && _pendingDx == 0 && _pendingDy == 0) || _unackedMotions >= MaxUnackedMotions)
            {
                return;
            }

            if (absolute)
            {
                var p = _pendingPosition!.Value;
                position = new SpiceMousePosition((uint)p.X, (uint)p.Y, 0, 0);
                _pendingPosition = null;
            }
            else
            {
                motion = new SpiceMouseMotion(_pendingDx, _pendingDy, 0);
                _pendingDx = 0;
                _pendingDy = 0;
            }

            _unackedMotions++;
            _motionsSent++;
        }

        try
        {
            if (absolute)
            {
                await _inputs.SendAsync(position, ct);
            }
            else
            {
                await _inputs.SendAsync(motion, ct);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or TimeoutException or SpiceProtocolException or System.Net.Sockets.SocketException)
        {
        }

        foreach (var c in new[] { _cursor, _inputs, _display, _main })
        {
            await c.DisposeAsync();
        }

        Picture?.Dispose();
        _stop.Dispose();
    }
}
