using Accel.Core.Transport;

namespace Accel.Core.Spice.Input;

/// <summary>
/// The loss an edge connection sees, from its engine's counters (<see cref="ConnectionStatistics.PacketsLost"/> over
/// <see cref="ConnectionStatistics.PacketsSent"/>), sampled at most once a second and decayed by a tenth each second
/// (about ten seconds of memory), so that a lossy stretch turns redundancy on within a second or two and a clean one
/// turns it off again. Thread-safe; an engine that does not count losses reads as no loss.
/// </summary>
internal sealed class LossMeter(Func<ConnectionStatistics> statistics, TimeProvider time)
{
    private const double Decay = 0.9;

    private readonly Lock _lock = new();
    private long _stamp;
    private long _lastLost;
    private long _lastSent;
    private double _lost;
    private double _sent;

    /// <summary>Recent fraction of packets lost (0 … 1).</summary>
    public double Loss
    {
        get
        {
            lock (_lock)
            {
                var now = time.GetTimestamp();
                if (_stamp == 0 || time.GetElapsedTime(_stamp, now) >= TimeSpan.FromSeconds(1))
                {
                    var stats = statistics();
                    var lost = stats.PacketsLost ?? 0;
                    if (_stamp != 0)
                    {
                        var seconds = Math.Min(time.GetElapsedTime(_stamp, now).TotalSeconds, 30);
                        var keep = Math.Pow(Decay, seconds);
                        _lost = (_lost * keep) + Math.Max(0, lost - _lastLost);
                        _sent = (_sent * keep) + Math.Max(0, stats.PacketsSent - _lastSent);
                    }

                    _stamp = now;
                    _lastLost = lost;
                    _lastSent = stats.PacketsSent;
                }

                return _sent <= 0 ? 0 : Math.Min(1, _lost / _sent);
            }
        }
    }
}

/// <summary>When the client edge repeats inputs as datagram copies (<c>Client:InputRedundancy</c>).</summary>
public enum InputRedundancyMode
{
    /// <summary>Never.</summary>
    Off,
    /// <summary>While the connection's measured loss is at or above <see cref="InputRedundancy.LossThreshold"/>.</summary>
    Auto,
    /// <summary>Always (tests, links known to be lossy).</summary>
    Always,
}

/// <summary>Decides, per batch of inputs, whether they get a copy.</summary>
internal sealed class InputRedundancy(InputRedundancyMode mode, LossMeter? meter)
{
    /// <summary>
    /// Measured loss from which copies are sent in <see cref="InputRedundancyMode.Auto"/>: 0.2 %. Low, because the
    /// measure is an underestimate (ngtcp2 counts lost packets that carried stream data, over all packets sent, most of
    /// which are a client edge's ACKs) and copies of inputs cost little.
    /// </summary>
    public const double LossThreshold = 0.002;

    public bool Active => mode switch
    {
        InputRedundancyMode.Always => true,
        InputRedundancyMode.Auto => meter is not null && meter.Loss >= LossThreshold,
        _ => false,
    };
}
