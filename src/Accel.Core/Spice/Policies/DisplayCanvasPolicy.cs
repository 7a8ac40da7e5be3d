using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Server edge, display channel 0, with <c>Server:DisplayCanvas</c>: every server → client message is applied to a
/// <see cref="DisplayCanvas"/> and spice-server's ACKs are answered at once (it drains at LAN speed); the WAN gets only
/// what is fresh. The rules are described once, in docs/display-path.md ("Canvas coalescing"):
/// <list type="bullet">
/// <item>Pass-through while the display bytes outstanding toward the client edge are ≤ the budget B
/// (<see cref="DisplayBudget"/>) and no fresh damage is pending; COPY_BITS pass with damage pending and carry it
/// (<see cref="CanvasRefreshQueue.OnCopied"/>).</item>
/// <item>Absorb otherwise, or when a draw depends on what the client lacks (<see cref="ClientDisplayState"/>) or is
/// too large to send losslessly (<see cref="CanvasEncodeToFit"/>): its box becomes damage (<see cref="DisplayDamage"/>).
/// Control messages are forwarded in order.</item>
/// <item>Refresh once outstanding ≤ B/2, up to B: DRAW_COPY of the canvas (<see cref="CanvasRefreshWriter"/>), smallest
/// first, before the next message or by a 5 ms sampler; JPEG where encode-to-fit says so, lossless once settled.</item>
/// </list>
/// A surface that is not 32 bits per pixel ends the coalescing for the channel (damage is refreshed first).
/// </summary>
internal sealed class DisplayCanvasPolicy : IChannelPolicy, IForwardObserver, ISummarizingPolicy, IDisposable
{
    /// <summary>Largest refresh written before a message, in pixels per DRAW_COPY (a taller rectangle is cut in bands).</summary>
    private const int MaxPixelsPerCopy = 1 << 16;

    /// <summary>Pixels per piece the sampler injects: 16 rows of 1024, whole JPEG 4:2:0 blocks (≤ 64 KiB lossless, under the injector's bound).</summary>
    private const int PiecePixels = 16384;
    private const int MaxInjectBacklog = 24 * 1024;

    private static readonly TimeSpan s_sampleInterval = TimeSpan.FromMilliseconds(5);

    private readonly DisplayCanvas _canvas;
    private readonly ClientDisplayState _client = new();
    private readonly CanvasRefreshQueue _queue = new();
    private readonly DisplayBudget _budget;
    private readonly Func<long> _unacknowledgedBytes;
    private readonly Func<PathReading> _path;
    private readonly IMessageInjector _toClient;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly bool _lossy;
    private readonly Func<long>? _deliveryRate;
    private readonly CanvasPreviewer? _previews;
    private readonly CanvasEncodeToFit _fit;
    private readonly CanvasRefresher _refresher;
    private readonly Func<double>? _loss;
    private long _unflushed;
    private int _messagesWaiting;
    private long _pieceBytes;
    private long _absorbSince;
    private bool _disabled;
    private bool _echoesOnly;
    private bool _disposed;

    public DisplayCanvasPolicy(DisplayBudgetSettings settings, TimeProvider time, Func<long> unacknowledgedBytes, Func<PathReading> path,
        IMessageInjector toClient, CanvasLimits? limits = null, bool sample = true, bool lossy = true, Func<long>? deliveryRate = null,
        IDisplayPreviewSender? previews = null, Func<double>? loss = null)
    {
        _lossy = lossy;
        _loss = loss;
        _previews = previews is null ? null : new CanvasPreviewer(previews, time);
        _deliveryRate = deliveryRate;
        _fit = new CanvasEncodeToFit(time);
        _canvas = new DisplayCanvas(limits);
        _budget = new DisplayBudget(settings, time);
        _time = time;
        _unacknowledgedBytes = unacknowledgedBytes;
        _path = path;
        _toClient = toClient;
        _refresher = new CanvasRefresher(_canvas, _client, _queue, _fit, time, lossy, paced: previews is null, () => DeliveryRate, () => LinkRate);
        if (sample)
        {
            _ = SampleAsync(_stop.Token);
        }
    }

    public long DrawsAbsorbed { get; private set; }

    public long RefreshRects => _refresher.Rects;

    public long RefreshBytes => _refresher.Bytes;

    /// <summary>Preview datagrams sent (each with its marker on the stream).</summary>
    public long PreviewsSent => _previews?.Sent ?? 0;

    public string? Summary => $"canvas absorbed {DrawsAbsorbed} draws, refreshed {RefreshRects} rectangles ({RefreshBytes} bytes, {LossyRects} as JPEG), sent {PreviewsSent} previews ({_previews?.SentAfterBarrier ?? 0} held for a barrier)";

    /// <summary>Refresh rectangles sent as JPEG (each is refreshed losslessly once settled).</summary>
    public long LossyRects => _refresher.LossyRects;

    /// <summary>Lossy rectangles waiting for their lossless refresh.</summary>
    public int LossyPending
    {
        get
        {
            lock (_lock)
            {
                return _queue.LossyCount;
            }
        }
    }

    /// <summary>True while damage is pending (draws are absorbed).</summary>
    public bool Absorbing
    {
        get
        {
            lock (_lock)
            {
                return HasDamage;
            }
        }
    }

    /// <summary>The canvas (tests; read it under no concurrent message).</summary>
    internal DisplayCanvas Canvas => _canvas;

    private bool HasDamage => !_queue.IsEmpty;

    /// <summary>A pixel message other than COPY_BITS is absorbed whatever it is while fresh damage is pending.</summary>
    private bool AbsorbedWhileFresh(ushort type) => _queue.HasFresh && type != ClientDisplayState.MsgCopyBits;

    /// <summary>
    /// The edge connection loses packets (measured, at the input copies' threshold): a small draw — a key's echo — also
    /// goes as a preview datagram on an idle screen, so that a lost stream packet costs it no retransmission timeout
    /// (issue #16: the echo's flight sent twice). Busy cells and the token bucket still bound what this costs.
    /// </summary>
    private bool LossyPath => _loss is not null && _loss() >= Spice.Input.InputRedundancy.LossThreshold;

    /// <summary>The path's delivery rate in bytes/s (the budget's measurement unless a test sets one); 0: unknown.</summary>
    private long DeliveryRate => _deliveryRate?.Invoke() ?? _budget.DeliveryRate;

    /// <summary>
    /// The rate for choosing JPEG over lossless: only once the path has shown it is the limit (a busy interval), so a
    /// first screen over a fast link, which measures only what the screen sent, stays lossless; 0: not known.
    /// </summary>
    private long LinkRate => _deliveryRate?.Invoke() ?? (_budget.LinkLimited ? _budget.DeliveryRate : 0);

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size)
    {
        if (_disabled)
        {
            return BodyNeed.None;
        }

        return direction == SpiceDirection.ServerToClient ? BodyNeed.Transform
            : type == (ushort)SpiceDisplayMsgc.Init ? BodyNeed.Inspect : BodyNeed.None;
    }

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        Interlocked.Increment(ref _messagesWaiting);
        lock (_lock)
        {
            Interlocked.Decrement(ref _messagesWaiting);
            if (_disabled)
            {
                return PolicyVerdict.Forward;
            }

            if (direction == SpiceDirection.ClientToServer)
            {
                _canvas.ApplyClientMessage(message.Type, message.Body);
                return PolicyVerdict.Forward;
            }

            long outstanding = Observe();
            if (_previews is not null)
            {
                _unflushed += _previews.FlushBarrier(output);
            }

            // A draw that comes while fresh damage is pending is absorbed (OnPixelMessage's first rule), so nothing of
            // it reaches the client before the refresh: the refresh then goes after it, from the canvas with it drawn, and
            // its own echo-sized area first. Before anything forwarded, the refresh goes first and shows the canvas
            // without the message (the client applies the message itself).
            bool absorbed = ClientDisplayState.IsPixelMessage(message.Type) && AbsorbedWhileFresh(message.Type);
            bool refresh = HasDamage && outstanding <= _budget.Target / 2;
            if (refresh && !absorbed)
            {
                _unflushed += _refresher.RefreshWithin(output, _budget.Target - outstanding, MaxPixelsPerCopy);
            }

            using var contiguous = new ContiguousBody(message.Body);
            var span = contiguous.Span;
            _canvas.Apply(message.Type, span);
            var verdict = ClientDisplayState.IsPixelMessage(message.Type)
                ? OnPixelMessage(message.Type, span, outstanding, output)
                : OnControlMessage(message.Type, span, output);
            if (verdict == PolicyVerdict.Forward)
            {
                _unflushed += message.WireLength;
            }

            long room = _budget.Target - (_budget.Outstanding + _unflushed);
            if (room > 0 && _refresher.HasEcho)
            {
                _unflushed += _refresher.RefreshEchoes(output, room);
            }

            if (refresh && absorbed && HasDamage && (room = _budget.Target - (_budget.Outstanding + _unflushed)) > 0)
            {
                _unflushed += _refresher.RefreshWithin(output, room, MaxPixelsPerCopy);
            }

            UpdateAbsorbClock();
            return verdict;
        }
    }

    public void OnForwarded(SpiceDirection direction, long bytes)
    {
        if (direction != SpiceDirection.ServerToClient)
        {
            return;
        }

        lock (_lock)
        {
            _budget.OnForwarded(bytes);
            _unflushed = 0;
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        lock (_lock)
        {
            if (!_disposed)
            {
                _disposed = true;
                _queue.Clear();
                UpdateAbsorbClock();
                _budget.Dispose();
                _canvas.Dispose();
                _client.Dispose();
            }
        }

        _stop.Dispose();
    }

    /// <summary>
    /// One sampler step (tests call it directly): injects refresh pieces when damage is pending and the path has room,
    /// one piece per hold of the lock, and yields to a message waiting for it (a key's echo must not wait for a batch
    /// of pieces being encoded); the next tick goes on.
    /// </summary>
    internal void Sample()
    {
        long allowance = -1;
        while (SamplePiece(ref allowance) && Volatile.Read(ref _messagesWaiting) == 0)
        {
        }
    }

    /// <summary>Injects one piece within <paramref name="allowance"/> (-1: the step's first, which sets it); false when the step is done.</summary>
    private bool SamplePiece(ref long allowance)
    {
        lock (_lock)
        {
            if (_disposed || _disabled || !HasDamage)
            {
                UpdateAbsorbClock();
                return false;
            }

            if (allowance < 0)
            {
                long outstanding = Observe();
                if (outstanding >= _budget.Target)
                {
                    return false;
                }

                // Under half the budget everything pending may go; above it only echo-sized damage (CanvasRefresher.EchoPixels).
                _echoesOnly = outstanding > _budget.Target / 2;
                if (_echoesOnly && !_refresher.HasEcho)
                {
                    return false;
                }

                allowance = _budget.Target - outstanding;
            }

            // The backlog is checked before every piece, the first too: a slow destination must never overflow the injector.
            if (allowance <= 0 || (_toClient is IInjectionBacklog backlog && backlog.PendingBytes >= MaxInjectBacklog))
            {
                return false;
            }

            _pieceBytes = -1;
            _toClient.Inject(this, static (self, _, output) => self.WritePiece(output));
            UpdateAbsorbClock();
            if (_pieceBytes < 0 || _toClient is not IInjectionBacklog)
            {
                return false; // nothing ready to send, or an injector that cannot say what it holds: one piece a tick
            }

            allowance -= _pieceBytes;
            return true;
        }
    }

    private PolicyVerdict OnPixelMessage(ushort type, ReadOnlySpan<byte> body, long outstanding, IBufferWriter<byte> output)
    {
        bool isDraw = DisplayDrawMessage.IsDrawWithImages(type);
        // Where the message draws, read once: the surface and its box (false for one whose target is not known).
        bool targeted = _client.TryGetTarget(type, body, out uint target, out var box);
        DisplayDrawMessage draw = default;
        bool parsed = isDraw && DisplayDrawMessage.TryParse(type, body, out draw);
        bool photo = parsed && ClientDisplayState.BringsPhoto(draw);
        _fit.OnDraw(photo, _time.GetTimestamp());
        // A COPY_BITS (a scroll, a window move) passes even while damage is pending: it carries the damage it reads
        // along (OnCopied), and a scrolling terminal costs its few bytes and a refresh of the new lines, not of the
        // whole scrolled area.
        bool copyBits = type == ClientDisplayState.MsgCopyBits;

        // Only fresh damage holds draws back. Areas the client holds only approximately (sent as JPEG) do not: a draw
        // over them reads at most its own pixels, and the lossless refresh rewrites them once they are still. So a
        // video-rate region, once sent lossy, goes back to spice-server's own stream or draws instead of staying
        // absorbed for as long as it moves. A draw that copies from another place (a SURFACE image) waits for all.
        bool absorb = AbsorbedWhileFresh(type) || outstanding > _budget.Target
            || (isDraw && (!parsed || _client.DependsOnMissing(draw, body) || (HasDamage && ClientDisplayState.ReadsSurface(draw))))
            || _client.StreamDependsOnMissing(type, body)
            || (parsed && targeted && HoldsTheLinkTooLong(box, draw, photo));
        if (_previews is not null && (absorb || outstanding > CanvasPreviewer.Ahead || LossyPath))
        {
            long marker = targeted && target == 0 ? _previews.TryPreview(_canvas, box, output) : 0;
            _unflushed += marker;
            // A previewed draw is absorbed: its area is then refreshed (rop PUT of the canvas) after its marker, so the
            // preview never meets the draw applied a second time on the client (an XOR or a blend would not survive it).
            absorb |= marker > 0;
        }

        if (_previews is not null && targeted && target == 0 && _canvas.TryGetSurface(0, out var screen))
        {
            _previews.OnDrawn(box, screen.Width, screen.Height);
        }

        if (!absorb)
        {
            if (parsed)
            {
                _client.OnForwarded(draw);
            }

            if (copyBits && HasDamage)
            {
                CarryDamage(body);
            }
            else if (_queue.LossyCount > 0 && targeted)
            {
                _queue.TouchLossy(target, box, _time.GetTimestamp()); // still moving: not settled yet
            }

            if (_previews is not null && _canvas.TryGetSurface(0, out var primary))
            {
                _previews.OnForwarded(type, body, draw, parsed, new DamageRect(0, 0, primary.Width, primary.Height));
            }

            return PolicyVerdict.Forward;
        }

        if (parsed)
        {
            _client.OnAbsorbed(draw, body);
        }
        else if (isDraw)
        {
            _client.OnAbsorbedUnknown();
        }
        else
        {
            _client.OnStreamFrameAbsorbed(type, body);
        }

        if (targeted && _canvas.TryGetSurface(target, out var image))
        {
            _queue.AddFresh(target, box.Intersect(image.Width, image.Height));
        }

        DrawsAbsorbed++;
        DisplayCanvasMetrics.DrawsAbsorbed.Add(1);
        return PolicyVerdict.Drop;
    }

    /// <summary>
    /// Encode to fit for draws: one that brings a new image (not from the cache) over an area too large to send losslessly
    /// (<see cref="CanvasEncodeToFit"/>; <paramref name="photo"/>: counted with the photo draws just before) is absorbed,
    /// so its area goes out as a refresh: JPEG when photo-like, lossless once settled.
    /// </summary>
    private bool HoldsTheLinkTooLong(DamageRect box, in DisplayDrawMessage draw, bool photo) =>
        _lossy && ClientDisplayState.BringsNewImage(draw) && _fit.TooLongLossless(box.Area, photo, LinkRate);

    /// <summary>A forwarded COPY_BITS moves what the client lacks in its source to its destination.</summary>
    private void CarryDamage(ReadOnlySpan<byte> body)
    {
        if (ClientDisplayState.TryReadCopyBits(body, out uint id, out var source, out int dx, out int dy) && _canvas.TryGetSurface(id, out var surface))
        {
            _queue.OnCopied(id, source, dx, dy, surface.Width, surface.Height);
        }
    }

    private PolicyVerdict OnControlMessage(ushort type, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        switch (type)
        {
            case ClientDisplayState.MsgSurfaceCreate when body.Length >= 4:
            {
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(body);
                _queue.Remove(id);
                if (_canvas.TryGetSurface(id, out var surface) && !CanvasRefreshWriter.Supports(surface))
                {
                    // The refresh writes 32-bit images only: make the client whole now and stop coalescing.
                    _unflushed += _refresher.RefreshAll(output, MaxPixelsPerCopy);
                    _disabled = true;
                }

                break;
            }

            case ClientDisplayState.MsgSurfaceDestroy when body.Length >= 4:
                _queue.Remove(BinaryPrimitives.ReadUInt32LittleEndian(body));
                break;
            case ClientDisplayState.MsgReset:
                _queue.Clear();
                break;
        }

        _client.OnControlForwarded(type, body);
        return PolicyVerdict.Forward;
    }

    private long Observe()
    {
        _budget.Observe(_unacknowledgedBytes(), _path());
        return _budget.Outstanding + _unflushed;
    }

    private void WritePiece(IBufferWriter<byte> output)
    {
        long n = _echoesOnly ? _refresher.WriteEcho(output) : _refresher.WriteBand(output, PiecePixels, final: false);
        if (n > 0)
        {
            _budget.OnForwarded(n);
        }

        _pieceBytes = n;
    }

    private void UpdateAbsorbClock()
    {
        if (HasDamage && _absorbSince == 0)
        {
            _absorbSince = _time.GetTimestamp();
        }
        else if (!HasDamage && _absorbSince != 0)
        {
            DisplayCanvasMetrics.AbsorbTime.Add(_time.GetElapsedTime(_absorbSince).TotalSeconds);
            _absorbSince = 0;
        }
    }

    private async Task SampleAsync(CancellationToken token)
    {
        using var timer = new PeriodicTimer(s_sampleInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                Sample();
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SpiceProtocolException)
        {
            // The injector is full (a client edge that does not read): the channel's loops end it.
        }
    }
}
