using System.Diagnostics;
using Accel.Core.Transport;

namespace Accel.Core.Transport.Scheduling;

/// <summary>
/// Decides which sender goes to the wire next. Not thread-safe: owned by one connection loop.
/// </summary>
/// <remarks>
/// A sender (a stream with data to send) is registered with <see cref="Enqueue"/> and stays queued until
/// <see cref="TryDequeue"/> hands it out. The caller sends at most <see cref="Grant.Bytes"/> from it, reports what it
/// sent with <see cref="Complete"/>, and re-enqueues it if it still has data. Strict urgencies (0–2) always go
/// first, most urgent first. Urgencies 3–7 share by deficit round-robin with their weights (<see cref="SchedulerOptions"/>),
/// so each gets its weighted share of whatever strict traffic leaves, and none starves.
/// Within an urgency, senders are served round-robin (RFC 9218's incremental). Steady state allocates nothing: queues are rings that grow
/// only when more senders are ready at once than ever before.
/// </remarks>
public sealed class PriorityScheduler<T>
    where T : class
{
    private const int ClassCount = StreamUrgency.Levels;
    private const int FirstWeighted = SchedulerOptions.FirstWeightedUrgency;

    private readonly SchedulerOptions _options;
    private readonly Ring[] _queues = new Ring[ClassCount];
    private readonly long[] _deficit = new long[ClassCount];
    private readonly long[] _bytesSent = new long[ClassCount];
    private int _rrCursor = FirstWeighted;
    private long _strictRun;
    private int _count;

    public PriorityScheduler(SchedulerOptions? options = null)
    {
        _options = options ?? SchedulerOptions.Default;
        _options.Validate();
        for (var i = 0; i < ClassCount; i++)
        {
            _queues[i] = new Ring(4);
        }
    }

    /// <summary>Number of queued senders.</summary>
    public int Count => _count;

    /// <summary>Queued senders of one urgency (a gauge for metrics).</summary>
    public int CountOf(byte urgency) => _queues[urgency].Count;

    /// <summary>Total bytes reported through <see cref="Complete"/> for an urgency.</summary>
    public long BytesSentOf(byte urgency) => _bytesSent[urgency];

    /// <summary>Queues a sender that has data. Queuing the same sender twice is the caller's bug.</summary>
    public void Enqueue(T sender, byte urgency)
    {
        ArgumentNullException.ThrowIfNull(sender);
        _queues[StreamUrgency.Validate(urgency)].Push(sender);
        _count++;
    }

    /// <summary>Removes a sender wherever it is queued (stream closed or reset). Returns whether it was queued.</summary>
    public bool Remove(T sender)
    {
        for (var i = 0; i < ClassCount; i++)
        {
            if (_queues[i].Remove(sender))
            {
                _count--;
                return true;
            }
        }

        return false;
    }

    /// <summary>Picks the next sender and how many bytes it may send now.</summary>
    public bool TryDequeue(out Grant grant)
    {
        if (_count == 0)
        {
            grant = default;
            return false;
        }

        var weightedWaiting = WeightedWaiting();
        var strictStarving = _options.StrictBurstBytes > 0 && weightedWaiting && _strictRun >= _options.StrictBurstBytes;

        if (!strictStarving)
        {
            for (var c = 0; c < FirstWeighted; c++)
            {
                if (_queues[c].Count > 0)
                {
                    grant = new Grant(_queues[c].Pop(), (byte)c, int.MaxValue);
                    _count--;
                    return true;
                }
            }
        }

        Debug.Assert(weightedWaiting, "count > 0 and no strict sender means a weighted one waits");
        _strictRun = 0;

        // Deficit round-robin over the weighted urgencies: a class with a positive deficit is served; otherwise
        // every backlogged class earns its quantum and the cursor moves on.
        while (true)
        {
            for (var step = 0; step < ClassCount - FirstWeighted; step++)
            {
                var c = _rrCursor;
                if (_queues[c].Count > 0 && _deficit[c] > 0)
                {
                    grant = new Grant(_queues[c].Pop(), (byte)c, (int)Math.Min(_deficit[c], int.MaxValue));
                    _count--;
                    return true;
                }

                AdvanceCursor();
            }

            for (var c = FirstWeighted; c < ClassCount; c++)
            {
                if (_queues[c].Count > 0)
                {
                    _deficit[c] += (long)_options.WeightOf(c) * _options.QuantumBytes;
                }
                else
                {
                    _deficit[c] = 0;
                }
            }
        }
    }

    /// <summary>Reports what a granted sender really sent. Call once per grant, before re-enqueuing it.</summary>
    public void Complete(in Grant grant, int bytesSent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesSent);
        var c = (int)grant.Urgency;
        _bytesSent[c] += bytesSent;
        if (c < FirstWeighted)
        {
            _strictRun += bytesSent;
            return;
        }

        _deficit[c] -= bytesSent;
        if (_deficit[c] <= 0 || _queues[c].Count == 0)
        {
            // The class used its turn; the next weighted class is served next.
            if (_deficit[c] < 0)
            {
                _deficit[c] = 0;
            }

            if (_rrCursor == c)
            {
                AdvanceCursor();
            }
        }
    }

    private bool WeightedWaiting()
    {
        for (var c = FirstWeighted; c < ClassCount; c++)
        {
            if (_queues[c].Count > 0)
            {
                return true;
            }
        }

        return false;
    }

    private void AdvanceCursor() => _rrCursor = _rrCursor + 1 >= ClassCount ? FirstWeighted : _rrCursor + 1;

    /// <summary>A sender, its urgency, and how many bytes it may send in this turn.</summary>
    public readonly record struct Grant(T Sender, byte Urgency, int Bytes);

    private sealed class Ring
    {
        private T?[] _items;
        private int _head;

        public Ring(int capacity) => _items = new T?[capacity];

        public int Count { get; private set; }

        public void Push(T item)
        {
            if (Count == _items.Length)
            {
                var bigger = new T?[_items.Length * 2];
                for (var i = 0; i < Count; i++)
                {
                    bigger[i] = _items[(_head + i) % _items.Length];
                }

                _items = bigger;
                _head = 0;
            }

            _items[(_head + Count) % _items.Length] = item;
            Count++;
        }

        public T Pop()
        {
            var item = _items[_head]!;
            _items[_head] = null;
            _head = (_head + 1) % _items.Length;
            Count--;
            return item;
        }

        public bool Remove(T item)
        {
            for (var i = 0; i < Count; i++)
            {
                var idx = (_head + i) % _items.Length;
                if (ReferenceEquals(_items[idx], item))
                {
                    // Shift the tail left by one to keep order.
                    for (var j = i; j < Count - 1; j++)
                    {
                        _items[(_head + j) % _items.Length] = _items[(_head + j + 1) % _items.Length];
                    }

                    _items[(_head + Count - 1) % _items.Length] = null;
                    Count--;
                    return true;
                }
            }

            return false;
        }
    }
}
