using System.Buffers;
using System.Diagnostics;

namespace NetemLink;

/// <summary>
/// One direction of the link: a reader thread takes packets from the ingress TUN, applies loss, duplication, the
/// token-bucket bottleneck with its finite queue, delay and jitter, and stamps each packet with its delivery time;
/// a timing thread delivers them to the egress TUN at that time (event wait for long gaps, spin for the last ~1.5 ms).
/// </summary>
public sealed class EmulatedDirection : IDisposable
{
    private const int MaxPacket = 65536;
    private static readonly long s_spinThreshold = Stopwatch.Frequency * 15 / 10_000; // 1.5 ms

    private readonly TunDevice _ingress;
    private readonly TunDevice _egress;
    private readonly PriorityQueue<Pending, (long Due, long Seq)> _queue = new();
    private readonly Lock _gate = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly Random _random;
    private readonly Thread _reader;
    private readonly Thread _timer;
    private volatile DirectionParameters _parameters;
    private volatile bool _stopping;
    private long _linkFreeAt;
    private long _lastDue;
    private long _seq;
    private bool _geBad;
    private int _queued;

    public EmulatedDirection(string name, TunDevice ingress, TunDevice egress, DirectionParameters parameters, int seed)
    {
        _ingress = ingress;
        _egress = egress;
        _parameters = parameters;
        _random = new Random(seed);
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = name + "-rx" };
        _timer = new Thread(DeliverLoop) { IsBackground = true, Name = name + "-tx" };
    }

    public LinkCounters Counters { get; } = new();

    /// <summary>Delivery lateness (actual - due) statistics, in Stopwatch ticks.</summary>
    public TimingStats Lateness { get; } = new();

    public DirectionParameters Parameters
    {
        get => _parameters;
        set => _parameters = value;
    }

    public void Start()
    {
        _reader.Start();
        _timer.Start();
    }

    private void ReadLoop()
    {
        Native.BoostCurrentThread();
        var buffer = new byte[MaxPacket];
        while (!_stopping)
        {
            var n = _ingress.Read(buffer, 100);
            if (n < 0)
            {
                return;
            }

            if (n == 0)
            {
                continue;
            }

            Enqueue(buffer.AsSpan(0, n), Stopwatch.GetTimestamp());
        }
    }

    private void Enqueue(ReadOnlySpan<byte> packet, long now)
    {
        var p = _parameters;
        Counters.In(packet.Length);
        if (IsLost(p))
        {
            Counters.LossRandom();
            return;
        }

        var copies = p.Duplicate > 0 && _random.NextDouble() < p.Duplicate ? 2 : 1;
        if (copies == 2)
        {
            Counters.Dup();
        }

        for (var c = 0; c < copies; c++)
        {
            var departure = now;
            if (p.RateBitsPerSecond > 0)
            {
                var start = Math.Max(now, _linkFreeAt);
                var backlog = start - now;
                var limit = p.QueueBytes > 0
                    ? (long)(p.QueueBytes * 8.0 / p.RateBitsPerSecond * Stopwatch.Frequency)
                    : (long)(p.QueueMs / 1000.0 * Stopwatch.Frequency);
                if (backlog > limit)
                {
                    Counters.LossQueue();
                    continue;
                }

                _linkFreeAt = start + (long)(packet.Length * 8.0 / p.RateBitsPerSecond * Stopwatch.Frequency);
                departure = _linkFreeAt;
            }

            var delayMs = p.DelayMs;
            if (p.JitterMs > 0)
            {
                delayMs = Math.Max(0, delayMs + (((_random.NextDouble() * 2) - 1) * p.JitterMs));
            }

            var due = departure + (long)(delayMs / 1000.0 * Stopwatch.Frequency);
            if (!p.Reorder)
            {
                due = Math.Max(due, _lastDue);
            }

            _lastDue = Math.Max(_lastDue, due);
            var buffer = ArrayPool<byte>.Shared.Rent(packet.Length);
            packet.CopyTo(buffer);
            lock (_gate)
            {
                _queue.Enqueue(new Pending(buffer, packet.Length), (due, _seq++));
                _queued++;
            }

            _wake.Set();
        }
    }

    private bool IsLost(DirectionParameters p)
    {
        if (p.Burst is { } ge)
        {
            _geBad = _geBad ? _random.NextDouble() >= ge.R : _random.NextDouble() < ge.P;
            return _random.NextDouble() < (_geBad ? ge.LossBad : ge.LossGood);
        }

        return p.Loss > 0 && _random.NextDouble() < p.Loss;
    }

    private void DeliverLoop()
    {
        Native.BoostCurrentThread();
        while (!_stopping)
        {
            Pending item;
            long due;
            lock (_gate)
            {
                if (!_queue.TryPeek(out item, out var key))
                {
                    item = default;
                    due = -1;
                }
                else
                {
                    due = key.Due;
                }
            }

            if (due < 0)
            {
                _wake.WaitOne(50);
                continue;
            }

            var now = Stopwatch.GetTimestamp();
            var wait = due - now;
            if (wait > s_spinThreshold)
            {
                // Sleep until about 1 ms before the deadline; an enqueue of an earlier packet wakes us.
                var ms = (int)((wait - s_spinThreshold) * 1000 / Stopwatch.Frequency);
                _wake.WaitOne(Math.Max(1, ms));
                continue;
            }

            if (wait > 0)
            {
                Thread.SpinWait(20);
                continue;
            }

            lock (_gate)
            {
                _queue.Dequeue();
                _queued--;
            }

            _egress.Write(item.Buffer.AsSpan(0, item.Length));
            Counters.Out(item.Length);
            Lateness.Add(Stopwatch.GetTimestamp() - due);
            ArrayPool<byte>.Shared.Return(item.Buffer);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        _reader.Join(1000);
        _timer.Join(1000);
        lock (_gate)
        {
            while (_queue.TryDequeue(out var item, out _))
            {
                ArrayPool<byte>.Shared.Return(item.Buffer);
            }
        }

        _wake.Dispose();
    }

    private readonly record struct Pending(byte[] Buffer, int Length);
}

/// <summary>Running min/mean/max of a tick quantity (single writer).</summary>
public sealed class TimingStats
{
    private long _count;
    private double _sum;
    private long _max;

    public long Count => Volatile.Read(ref _count);
    public double MeanMs => _count == 0 ? 0 : _sum / _count * 1000.0 / Stopwatch.Frequency;
    public double MaxMs => _max * 1000.0 / Stopwatch.Frequency;

    internal void Add(long ticks)
    {
        _sum += ticks;
        _max = Math.Max(_max, ticks);
        Volatile.Write(ref _count, _count + 1);
    }
}
