namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// What an <see cref="Ngtcp2EventLoop"/> runs: one connection's turns, on the one loop it was attached to. The loop's
/// bookkeeping for it (queued flag, timer generation) lives here so the loop needs no table of its connections.
/// </summary>
internal abstract class Ngtcp2LoopMember
{
    private Ngtcp2EventLoop? _loop;
    private int _queued;

    /// <summary>The loop this member was attached to (null before); it never changes.</summary>
    public Ngtcp2EventLoop? Loop => Volatile.Read(ref _loop);

    /// <summary>Set when the member ended: the loop runs <see cref="Teardown"/> next and never runs it again.</summary>
    public abstract bool Finished { get; }

    /// <summary>Loop thread: the latest timer entry that counts; older entries in the heap are skipped.</summary>
    internal long TimerGeneration { get; set; }

    /// <summary>Loop thread: the deadline of that entry, <see cref="ulong.MaxValue"/> when none is pending.</summary>
    internal ulong TimerDeadline { get; set; } = ulong.MaxValue;

    /// <summary>One turn on the loop thread. Never blocks.</summary>
    public abstract Ngtcp2Turn RunTurn();

    /// <summary>Loop thread, once, after the turn that finished the member.</summary>
    public abstract void Teardown();

    /// <summary>Any thread: asks for a turn. At most one entry per member sits in the loop's ready queue.</summary>
    public void Schedule()
    {
        var loop = Volatile.Read(ref _loop);
        if (loop is not null && Interlocked.Exchange(ref _queued, 1) == 0)
        {
            loop.Enqueue(this);
        }
    }

    /// <summary>Called by <see cref="Ngtcp2EventLoop.Attach"/>, once.</summary>
    internal void Bind(Ngtcp2EventLoop loop)
    {
        if (Interlocked.CompareExchange(ref _loop, loop, null) is not null)
        {
            throw new InvalidOperationException("A connection is attached to one event loop, once.");
        }
    }

    /// <summary>Loop thread, just before a turn: what is posted from now on schedules another.</summary>
    internal void ClearQueued() => Volatile.Write(ref _queued, 0);
}

/// <summary>What a turn left: when the member next needs one (<see cref="Ngtcp2Clock"/> nanoseconds), or that it has work left now.</summary>
internal readonly record struct Ngtcp2Turn(ulong Deadline, bool WorkLeft);
