using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>
/// Tells, within about 2 RTT + 1 s, that an edge connection's peer stopped answering, long before the idle timeout
/// closes the connection. It samples the connection's counters every <see cref="SampleInterval"/>: the link is down
/// when something has been in flight (keep-alive PINGs make sure something is, on an idle connection) for
/// 2 × smoothed RTT + 1 s without any packet arriving; the first packet that arrives brings it back up. Only engines whose packet counters are
/// their own (<see cref="TransportCapabilities.CongestionStatistics"/>) are judged; others are never judged down (their
/// connection still ends at the idle timeout).
/// </summary>
internal sealed class LinkWatch : IDisposable
{
    public static readonly TimeSpan SampleInterval = TimeSpan.FromMilliseconds(100);

    private static readonly TimeSpan s_slack = TimeSpan.FromSeconds(1);

    private readonly IConnectionStatistics? _statistics;
    private readonly TimeProvider _time;
    private readonly ITimer? _timer;
    private long _lastPackets = -1;
    private long _lastArrival;
    private long _waitingSince;
    private volatile bool _down;
    private CancellationTokenSource _downSource = new();

    public LinkWatch(ITransportConnection connection, TimeProvider time)
        : this(connection.Capabilities.HasFlag(TransportCapabilities.CongestionStatistics) ? connection.Statistics() : null, time)
    {
    }

    internal LinkWatch(IConnectionStatistics? statistics, TimeProvider time)
    {
        _statistics = statistics;
        _time = time;
        _lastArrival = time.GetTimestamp();
        if (_statistics is not null)
        {
            _timer = time.CreateTimer(static state => ((LinkWatch)state!).Sample(), this, SampleInterval, SampleInterval);
        }
    }

    /// <summary>True while the peer is not answering.</summary>
    public bool IsDown => _down;

    /// <summary>Cancelled when the link is judged down (a new token once it is up again): waits on the peer end early.</summary>
    public CancellationToken DownToken => Volatile.Read(ref _downSource).Token;

    /// <summary>How long no packet has arrived from the peer.</summary>
    public TimeSpan Silence => _time.GetElapsedTime(Interlocked.Read(ref _lastArrival));

    /// <summary>One sample (timer thread; tests call it directly).</summary>
    internal void Sample()
    {
        var stats = _statistics!.GetStatistics();
        var now = _time.GetTimestamp();
        if (stats.PacketsReceived != _lastPackets)
        {
            _lastPackets = stats.PacketsReceived;
            Interlocked.Exchange(ref _lastArrival, now);
            _waitingSince = 0;
            if (_down)
            {
                _down = false;
                Volatile.Write(ref _downSource, new CancellationTokenSource());
            }

            return;
        }

        if ((stats.BytesInFlight ?? 1) == 0)
        {
            // Nothing asked of the peer (an idle connection between keep-alives): silence is no sign of an outage.
            _waitingSince = 0;
            return;
        }

        if (_waitingSince == 0)
        {
            _waitingSince = now;
        }

        var limit = (2 * (stats.SmoothedRtt ?? TimeSpan.Zero)) + s_slack;
        if (!_down && _time.GetElapsedTime(_waitingSince, now) > limit)
        {
            _down = true;
            Volatile.Read(ref _downSource).Cancel();
        }
    }

    public void Dispose() => _timer?.Dispose();
}
