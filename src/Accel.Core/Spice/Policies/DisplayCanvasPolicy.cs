using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>An injector that tells how many injected bytes still wait to be written (the relay's <c>LegWriter</c>).</summary>
internal interface IInjectionBacklog
{
    int PendingBytes { get; }
}

/// <summary>
/// Server edge, display channel 0, with <c>Server:DisplayCanvas</c>: every server → client message is applied to a
/// <see cref="DisplayCanvas"/> and spice-server's ACKs are answered at once (it drains at LAN speed); the WAN gets only
/// what is fresh. Modes (docs/display-path.md):
/// <list type="bullet">
/// <item>Pass-through while the display bytes outstanding toward the client edge are ≤ the budget B
/// (<see cref="DisplayBudget"/>) and no damage is pending.</item>
/// <item>Absorb otherwise: draws, COPY_BITS and stream frames are not forwarded; their bounding box (clipped to the
/// surface) becomes damage of their surface (<see cref="DisplayDamage"/>). Control messages are forwarded in order.
/// A draw that depends on what the client lacks (<see cref="ClientDisplayState"/>) is absorbed in any mode.</item>
/// <item>Refresh once outstanding ≤ B/2: each damaged rectangle is written as a lossless DRAW_COPY of the canvas
/// (<see cref="CanvasRefreshWriter"/>), before the next message, or by a 5 ms sampler in pieces through the injector
/// when spice-server is quiet. Pass-through resumes only when no damage is left, so every forwarded draw reads client
/// pixels equal to the canvas.</item>
/// </list>
/// A surface that is not 32 bits per pixel ends the coalescing for the channel (damage is refreshed first, then
/// everything passes through).
/// </summary>
internal sealed class DisplayCanvasPolicy : IChannelPolicy, IForwardObserver, IDisposable
{
    /// <summary>Largest refresh written before a message, in pixels per DRAW_COPY (a taller rectangle is cut in bands).</summary>
    private const int MaxPixelsPerCopy = 1 << 20;

    /// <summary>Pixels per piece the sampler injects (the injector holds at most 64 KiB).</summary>
    private const int PiecePixels = 4096;
    private const int MaxInjectBacklog = 24 * 1024;
    private static readonly TimeSpan s_sampleInterval = TimeSpan.FromMilliseconds(5);

    private readonly DisplayCanvas _canvas;
    private readonly ClientDisplayState _client = new();
    private readonly Dictionary<uint, DisplayDamage> _damage = new();
    private readonly DisplayBudget _budget;
    private readonly Func<long> _unacknowledgedBytes;
    private readonly Func<TimeSpan?> _minRtt;
    private readonly IMessageInjector _toClient;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private long _unflushed;
    private long _absorbSince;
    private bool _disabled;
    private bool _disposed;

    public DisplayCanvasPolicy(DisplayBudgetSettings settings, TimeProvider time, Func<long> unacknowledgedBytes, Func<TimeSpan?> minRtt,
        IMessageInjector toClient, CanvasLimits? limits = null, bool sample = true)
    {
        _canvas = new DisplayCanvas(limits);
        _budget = new DisplayBudget(settings, time);
        _time = time;
        _unacknowledgedBytes = unacknowledgedBytes;
        _minRtt = minRtt;
        _toClient = toClient;
        if (sample)
        {
            _ = SampleAsync(_stop.Token);
        }
    }

    public long DrawsAbsorbed { get; private set; }

    public long RefreshRects { get; private set; }

    public long RefreshBytes { get; private set; }

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

    private bool HasDamage => _damage.Count > 0;

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
        lock (_lock)
        {
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
            if (HasDamage && outstanding <= _budget.Target / 2)
            {
                _unflushed += RefreshAll(output, MaxPixelsPerCopy);
            }

            using var contiguous = new ContiguousBody(message.Body);
            var span = contiguous.Span;
            _canvas.Apply(message.Type, span);
            var verdict = ClientDisplayState.IsPixelMessage(message.Type)
                ? OnPixelMessage(message.Type, span, outstanding)
                : OnControlMessage(message.Type, span, output);
            if (verdict == PolicyVerdict.Forward)
            {
                _unflushed += message.WireLength;
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
                _damage.Clear();
                UpdateAbsorbClock();
                _budget.Dispose();
                _canvas.Dispose();
            }
        }

        _stop.Dispose();
    }

    /// <summary>One sampler step (tests call it directly): injects refresh pieces when damage is pending and the path has room.</summary>
    internal void Sample()
    {
        lock (_lock)
        {
            if (_disposed || _disabled || !HasDamage || Observe() > _budget.Target / 2)
            {
                return;
            }

            do
            {
                _toClient.Inject(this, static (self, _, output) => self.WritePiece(output));
            }
            while (HasDamage && _toClient is IInjectionBacklog backlog && backlog.PendingBytes < MaxInjectBacklog);

            UpdateAbsorbClock();
        }
    }

    private PolicyVerdict OnPixelMessage(ushort type, ReadOnlySpan<byte> body, long outstanding)
    {
        bool isDraw = DisplayDrawMessage.IsDrawWithImages(type);
        DisplayDrawMessage draw = default;
        bool parsed = isDraw && DisplayDrawMessage.TryParse(type, body, out draw);
        bool absorb = HasDamage || outstanding > _budget.Target || (isDraw && (!parsed || _client.DependsOnMissing(draw, body)));
        if (!absorb)
        {
            if (parsed)
            {
                _client.OnForwarded(draw);
            }

            return PolicyVerdict.Forward;
        }

        if (parsed)
        {
            _client.OnAbsorbed(draw);
        }
        else if (isDraw)
        {
            _client.OnAbsorbedUnknown();
        }

        if (_client.TryGetTarget(type, body, out uint surface, out var box) && _canvas.TryGetSurface(surface, out var image))
        {
            var clipped = box.Intersect(image.Width, image.Height);
            if (!clipped.IsEmpty)
            {
                if (!_damage.TryGetValue(surface, out var damage))
                {
                    _damage[surface] = damage = new DisplayDamage();
                }

                damage.Add(clipped);
            }
        }

        DrawsAbsorbed++;
        DisplayCanvasMetrics.DrawsAbsorbed.Add(1);
        return PolicyVerdict.Drop;
    }

    private PolicyVerdict OnControlMessage(ushort type, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        switch (type)
        {
            case ClientDisplayState.MsgSurfaceCreate when body.Length >= 4:
            {
                uint id = BinaryPrimitives.ReadUInt32LittleEndian(body);
                _damage.Remove(id);
                if (_canvas.TryGetSurface(id, out var surface) && !CanvasRefreshWriter.Supports(surface))
                {
                    // The refresh writes 32-bit images only: make the client whole now and stop coalescing.
                    _unflushed += RefreshAll(output, MaxPixelsPerCopy);
                    _disabled = true;
                }

                break;
            }

            case ClientDisplayState.MsgSurfaceDestroy when body.Length >= 4:
                _damage.Remove(BinaryPrimitives.ReadUInt32LittleEndian(body));
                break;
            case ClientDisplayState.MsgReset:
                _damage.Clear();
                break;
        }

        _client.OnControlForwarded(type, body);
        return PolicyVerdict.Forward;
    }

    private long Observe()
    {
        _budget.Observe(_unacknowledgedBytes(), _minRtt());
        return _budget.Outstanding + _unflushed;
    }

    /// <summary>Writes every damaged rectangle (cut in bands of at most <paramref name="maxPixels"/>) and clears the damage.</summary>
    private long RefreshAll(IBufferWriter<byte> output, int maxPixels)
    {
        long written = 0;
        while (HasDamage)
        {
            written += WriteBand(output, maxPixels);
        }

        return written;
    }

    private long WritePiece(IBufferWriter<byte> output)
    {
        long n = WriteBand(output, PiecePixels);
        _budget.OnForwarded(n);
        return n;
    }

    /// <summary>Writes the top band of the first damaged rectangle and removes it from the damage.</summary>
    private long WriteBand(IBufferWriter<byte> output, int maxPixels)
    {
        foreach (var (id, damage) in _damage)
        {
            var rect = damage[0];
            int rows = Math.Clamp(maxPixels / Math.Max(1, rect.Width), 1, rect.Height);
            var band = rect with { Bottom = rect.Top + rows };
            damage.ReplaceAt(0, rect with { Top = band.Bottom });
            if (damage.IsEmpty)
            {
                _damage.Remove(id);
            }

            if (!_canvas.TryGetSurface(id, out var surface) || !CanvasRefreshWriter.Supports(surface))
            {
                return 0;
            }

            long n = CanvasRefreshWriter.Write(output, id, surface, band);
            RefreshRects++;
            RefreshBytes += n;
            DisplayCanvasMetrics.RefreshRects.Add(1);
            DisplayCanvasMetrics.RefreshBytes.Add(n);
            return n;
        }

        return 0;
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
