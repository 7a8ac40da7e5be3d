namespace NetemLink;

/// <summary>What one direction of the link really did (monotonic counters, thread-safe reads).</summary>
public sealed class LinkCounters
{
    private long _packetsIn;
    private long _bytesIn;
    private long _packetsOut;
    private long _bytesOut;
    private long _lostRandom;
    private long _lostQueue;
    private long _duplicated;

    public long PacketsIn => Volatile.Read(ref _packetsIn);
    public long BytesIn => Volatile.Read(ref _bytesIn);
    public long PacketsOut => Volatile.Read(ref _packetsOut);
    public long BytesOut => Volatile.Read(ref _bytesOut);
    public long LostRandom => Volatile.Read(ref _lostRandom);
    public long LostQueue => Volatile.Read(ref _lostQueue);
    public long Duplicated => Volatile.Read(ref _duplicated);

    internal void In(int bytes)
    {
        Interlocked.Increment(ref _packetsIn);
        Interlocked.Add(ref _bytesIn, bytes);
    }

    internal void Out(int bytes)
    {
        Interlocked.Increment(ref _packetsOut);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    internal void LossRandom() => Interlocked.Increment(ref _lostRandom);

    internal void LossQueue() => Interlocked.Increment(ref _lostQueue);

    internal void Dup() => Interlocked.Increment(ref _duplicated);

    public CounterSnapshot Snapshot() => new(PacketsIn, BytesIn, PacketsOut, BytesOut, LostRandom, LostQueue, Duplicated);
}

public readonly record struct CounterSnapshot(
    long PacketsIn, long BytesIn, long PacketsOut, long BytesOut, long LostRandom, long LostQueue, long Duplicated)
{
    public CounterSnapshot Minus(CounterSnapshot o) => new(
        PacketsIn - o.PacketsIn, BytesIn - o.BytesIn, PacketsOut - o.PacketsOut, BytesOut - o.BytesOut,
        LostRandom - o.LostRandom, LostQueue - o.LostQueue, Duplicated - o.Duplicated);
}
