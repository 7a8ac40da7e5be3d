using Accel.Core.Diagnostics;

namespace Accel.Core.Spice.Display;

/// <summary>How the server edge bounds the display data it has accepted from spice-server but the client edge has not received.</summary>
public sealed record DisplayBudgetSettings
{
    public static DisplayBudgetSettings Default { get; } = new();

    /// <summary>False: ACKs go to spice-server at once (no pacing; the behaviour before the budget existed).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Smallest budget, whatever the path measures (a few messages must always fit).</summary>
    public long Floor { get; init; } = 64 * 1024;

    /// <summary>Largest budget, whatever the path measures.</summary>
    public long Ceiling { get; init; } = 16 * 1024 * 1024;

    /// <summary>Budget while the engine reports no RTT (engines without statistics).</summary>
    public long Fallback { get; init; } = 256 * 1024;

    /// <summary>
    /// Multiple of the measured bandwidth-delay product. Above 1 so the budget can grow when the link has room (the rate
    /// is measured from what the budget let through); each step above 1 is a standing queue of that fraction of an RTT.
    /// </summary>
    public double Gain { get; init; } = 1.25;

    /// <summary>Added to the bandwidth-delay product: room for the message in progress.</summary>
    public long Headroom { get; init; } = 16 * 1024;

    /// <summary>
    /// Longest an ACK is held back. spice-server disconnects a display client whose pipe it cannot flush for 30 s
    /// ("flush timeout"); an ACK at least this often keeps its pipe draining (a window of messages per ACK).
    /// </summary>
    public TimeSpan MaxAckHold { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a delivery-rate maximum is remembered (it follows a bandwidth drop after this long).</summary>
    public TimeSpan RateWindow { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// What the transport tells the budget about the path at one moment: its min RTT; the display stream's bytes the peer
/// has acknowledged (-1: unknown), from which the delivery rate is measured; and an upper bound of the rate the path
/// can deliver (congestion window / smoothed RTT, with slack; 0 where the engine does not say).
/// <para>
/// Measured on the branch profile (10 Mbit/s, 1 % loss), the rate read 4.6 × the link's before both: bytes written
/// toward the stream but not yet in the engine (a batch in the pipe, injected refreshes) counted as acknowledged, and a
/// lost packet holds the acknowledged prefix back for about an RTT, after which the bytes behind it arrive in one
/// interval. The stream's own count fixes the first; the bound limits the second.
/// </para>
/// </summary>
public readonly record struct PathReading(TimeSpan? MinRtt, long RateCeiling = 0, long Acknowledged = -1)
{
    /// <summary>Slack over congestion window / smoothed RTT (a sender may briefly exceed its average).</summary>
    private const double CeilingSlack = 1.25;

    public static PathReading From(in Transport.ConnectionStatistics statistics, long acknowledged = -1) =>
        new(statistics.MinRtt, statistics is { CongestionWindow: > 0 and var cwnd, SmoothedRtt: { } srtt } && srtt > TimeSpan.Zero
            ? (long)(cwnd * CeilingSlack / srtt.TotalSeconds) : 0, acknowledged);
}

/// <summary>What to do with an ACK that spice-server's window has made due.</summary>
internal enum AckDecision
{
    /// <summary>Send it now.</summary>
    Send,

    /// <summary>Hold it: the display data outstanding is above the budget.</summary>
    Hold,
}

/// <summary>
/// The display budget of one display channel at the server edge. Display bytes the edge has written toward the client
/// edge and the client edge's QUIC stack has not acknowledged (queued in the edge plus in flight) are held at about
/// one bandwidth-delay product: <c>Gain × delivery rate × min RTT + Headroom</c>, clamped to [Floor, Ceiling]. The
/// delivery rate is measured here from the stream's own acknowledged bytes, as the maximum of busy intervals of at
/// least one RTT over the last <see cref="DisplayBudgetSettings.RateWindow"/> (samples from idle intervals are
/// ignored unless higher, as BBR ignores application-limited ones). The server edge answers spice-server's ACK window
/// only while the outstanding bytes are under the budget, so spice-server paces itself and replaces superseded
/// drawables in its own pipe, as it does for a slow direct client; no ACK is held longer than
/// <see cref="DisplayBudgetSettings.MaxAckHold"/>. Not thread-safe: one owner (the display channel's pump).
/// </summary>
internal sealed class DisplayBudget : IDisposable
{
    private const int RateBuckets = 8;
    private const int DelayRing = 64;
    private static readonly TimeSpan s_minInterval = TimeSpan.FromMilliseconds(20);

    private readonly DisplayBudgetSettings _settings;
    private readonly TimeProvider _time;
    private readonly long _bucketTicks;
    private readonly long[] _bucketRate = new long[RateBuckets];
    private readonly long[] _bucketStart = new long[RateBuckets];
    private readonly long[] _delayOffset = new long[DelayRing];
    private readonly long[] _delayStamp = new long[DelayRing];
    private int _delayHead;
    private int _delayCount;
    private long _written;
    private long _intervalStart = -1;
    private long _intervalAcked;
    private long _lastBusy;
    private long _streamAcked;
    private bool _intervalBusy;
    private TimeSpan? _minRtt;
    private int _pendingAcks;
    private long _heldSince;
    private bool _disposed;

    public DisplayBudget(DisplayBudgetSettings settings, TimeProvider time)
    {
        _settings = settings;
        _time = time;
        _bucketTicks = Math.Max(1, (long)(settings.RateWindow.TotalSeconds * time.TimestampFrequency / RateBuckets));
        Target = settings.Fallback;
        DisplayBudgetMetrics.Register(this);
    }

    /// <summary>The budget now, in bytes.</summary>
    public long Target { get; private set; }

    /// <summary>Display bytes written toward the client edge and not yet acknowledged by it, as last observed.</summary>
    public long Outstanding { get; private set; }

    /// <summary>Delivery rate (bytes/s) the budget is computed from; 0 before the first busy interval.</summary>
    public long DeliveryRate { get; private set; }

    /// <summary>
    /// Whether a busy interval (data waiting the whole time) was seen in the last <see cref="LinkMemory"/>: the rate is
    /// then what the path delivers, not what the screen happened to send (a first screen over a LAN is idle most of the
    /// time and measures low). Choices that trade quality for bandwidth wait for this. Remembered longer than the rate
    /// window: a slideshow is idle between its photos, and each photo must not be taken for a first screen again.
    /// </summary>
    public bool LinkLimited => _lastBusy != 0 && _time.GetElapsedTime(_lastBusy) < LinkMemory;

    /// <summary>How long a busy interval keeps <see cref="LinkLimited"/> true.</summary>
    public static readonly TimeSpan LinkMemory = TimeSpan.FromSeconds(30);

    /// <summary>ACKs due but held back.</summary>
    public int PendingAcks => _pendingAcks;

    /// <summary>ACKs held back at least once, and ACKs sent because they had been held for MaxAckHold.</summary>
    public long Held { get; private set; }

    public long Forced { get; private set; }

    /// <summary>The pump wrote <paramref name="bytes"/> of display data toward the client edge.</summary>
    public void OnForwarded(long bytes)
    {
        _written += bytes;
        Outstanding += bytes;
        if (_delayCount < DelayRing)
        {
            var slot = (_delayHead + _delayCount) % DelayRing;
            _delayOffset[slot] = _written;
            _delayStamp[slot] = _time.GetTimestamp();
            _delayCount++;
        }
    }

    /// <summary>
    /// Feeds what the engine says: bytes of the display stream not yet acknowledged by the peer, and the path's min RTT
    /// (null where the engine has no statistics: the budget is then <see cref="DisplayBudgetSettings.Fallback"/>).
    /// </summary>
    public void Observe(long unacknowledgedBytes, TimeSpan? minRtt) => Observe(unacknowledgedBytes, new PathReading(minRtt));

    /// <summary>Feeds what the engine says (see <see cref="PathReading"/>).</summary>
    public void Observe(long unacknowledgedBytes, in PathReading path)
    {
        var minRtt = path.MinRtt;
        var now = _time.GetTimestamp();
        Outstanding = Math.Clamp(unacknowledgedBytes, 0, _written);
        var acked = _written - Outstanding;
        var delivered = acked;
        if (path.Acknowledged >= 0)
        {
            _streamAcked = Math.Max(_streamAcked, path.Acknowledged);
            delivered = _streamAcked;
        }

        RecordDelays(acked, now);
        if (minRtt is { } rtt && rtt > TimeSpan.Zero)
        {
            _minRtt = _minRtt is { } known && known < rtt ? known : rtt;
        }

        SampleRate(delivered, now, path.RateCeiling);
        Target = ComputeTarget();
    }

    /// <summary>An ACK is due (spice-server's window is complete): send it, or hold it until <see cref="TryRelease"/>.</summary>
    public AckDecision OnAckDue()
    {
        if (!_settings.Enabled || (_pendingAcks == 0 && Outstanding <= Target))
        {
            return AckDecision.Send;
        }

        if (_pendingAcks++ == 0)
        {
            _heldSince = _time.GetTimestamp();
        }

        Held++;
        DisplayBudgetMetrics.AckHolds.Add(1, DisplayBudgetMetrics.HeldTag);
        return AckDecision.Hold;
    }

    /// <summary>
    /// How many held ACKs may go now (call after <see cref="Observe"/>): all of them once the outstanding bytes are
    /// under the budget, one when the oldest has waited <see cref="DisplayBudgetSettings.MaxAckHold"/>.
    /// </summary>
    public int TryRelease()
    {
        if (_pendingAcks == 0)
        {
            return 0;
        }

        int released;
        if (Outstanding <= Target)
        {
            released = _pendingAcks;
        }
        else if (_time.GetElapsedTime(_heldSince) >= _settings.MaxAckHold)
        {
            released = 1;
            Forced++;
            DisplayBudgetMetrics.AckHolds.Add(1, DisplayBudgetMetrics.ForcedTag);
        }
        else
        {
            return 0;
        }

        _pendingAcks -= released;
        _heldSince = _time.GetTimestamp();
        return released;
    }

    /// <summary>spice-server started a new ACK generation (SET_ACK): ACKs held for the old one are void.</summary>
    public void ResetHeld() => _pendingAcks = 0;

    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            DisplayBudgetMetrics.Unregister(this);
        }
    }

    private long ComputeTarget()
    {
        if (_minRtt is not { } rtt)
        {
            return _settings.Fallback;
        }

        if (DeliveryRate == 0)
        {
            return Math.Clamp(_settings.Fallback, _settings.Floor, _settings.Ceiling);
        }

        var bdp = DeliveryRate * rtt.TotalSeconds;
        var target = (long)Math.Min(_settings.Ceiling, (_settings.Gain * bdp) + _settings.Headroom);
        return Math.Clamp(target, _settings.Floor, _settings.Ceiling);
    }

    private void SampleRate(long acked, long now, long rateCeiling)
    {
        if (_intervalStart < 0)
        {
            StartInterval(acked, now);
            return;
        }

        // A busy interval: data was waiting for the whole interval (the budget or the link limited it, not the screen).
        _intervalBusy &= Outstanding > 0;
        var elapsed = _time.GetElapsedTime(_intervalStart, now);
        var length = _minRtt is { } rtt && rtt > s_minInterval ? rtt : s_minInterval;
        if (elapsed < length)
        {
            return;
        }

        var rate = (long)((acked - _intervalAcked) / elapsed.TotalSeconds);
        if (rateCeiling > 0)
        {
            rate = Math.Min(rate, rateCeiling);
        }

        var bucket = (int)(now / _bucketTicks % RateBuckets);
        if (_bucketStart[bucket] != now / _bucketTicks)
        {
            // A bucket from an earlier window: forget it (only when this sample counts, so an idle screen keeps its rate).
            if (_intervalBusy || rate > DeliveryRate)
            {
                _bucketStart[bucket] = now / _bucketTicks;
                _bucketRate[bucket] = 0;
            }
        }

        if ((_intervalBusy || rate > DeliveryRate) && rate > _bucketRate[bucket])
        {
            _bucketRate[bucket] = rate;
        }

        if (_intervalBusy)
        {
            _lastBusy = now;
        }

        long max = 0;
        var current = now / _bucketTicks;
        for (var i = 0; i < RateBuckets; i++)
        {
            if (current - _bucketStart[i] < RateBuckets)
            {
                max = Math.Max(max, _bucketRate[i]);
            }
        }

        if (max > 0)
        {
            DeliveryRate = max;
        }

        StartInterval(acked, now);
    }

    private void StartInterval(long acked, long now)
    {
        _intervalStart = now;
        _intervalAcked = acked;
        _intervalBusy = Outstanding >= Target / 2 || _pendingAcks > 0;
    }

    private void RecordDelays(long acked, long now)
    {
        while (_delayCount > 0 && _delayOffset[_delayHead] <= acked)
        {
            DisplayBudgetMetrics.QueueDelay.Record(_time.GetElapsedTime(_delayStamp[_delayHead], now).TotalSeconds);
            _delayHead = (_delayHead + 1) % DelayRing;
            _delayCount--;
        }
    }
}
