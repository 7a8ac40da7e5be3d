using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// One event-loop thread serving many connections (<see cref="Ngtcp2EventLoopGroup"/>). A connection attached here
/// stays here: every ngtcp2 and GnuTLS call for it runs on this thread. Each pass the loop fires the timers that are
/// due, then gives every ready connection one turn, in order; a connection with work left (a send quantum used, a
/// budget spent) goes to the back of the queue, so a bulk sender cannot hold the loop. With nothing ready it sleeps
/// until the earliest deadline (at most a second) or a wake. The thread starts with the first connection and ends
/// after <see cref="IdleLinger"/> without any; the next connection starts it again.
/// </summary>
internal sealed class Ngtcp2EventLoop
{
    /// <summary>How long a loop with no connection keeps its thread.</summary>
    public static readonly TimeSpan IdleLinger = TimeSpan.FromSeconds(5);

    private const int MaxSleepMilliseconds = 1000;

    private readonly ConcurrentQueue<Ngtcp2LoopMember> _ready = new();
    private readonly PriorityQueue<TimerEntry, ulong> _timers = new();
    private readonly List<(TimerEntry Entry, ulong Deadline)> _compaction = [];
    private readonly ManualResetEventSlim _wake = new(false, 20);
    private readonly Lock _gate = new();
    private readonly string _name;
    private readonly ILogger _logger;
    private int _members;
    private bool _running;

    public Ngtcp2EventLoop(string name, ILogger logger)
    {
        _name = name;
        _logger = logger;
    }

    /// <summary>Connections attached and not yet torn down (what least-loaded assignment compares).</summary>
    public int Members => Volatile.Read(ref _members);

    /// <summary>The thread's name (the OS thread name too, as Linux allows: 15 characters).</summary>
    public string Name => _name;

    /// <summary>Timer entries in the heap, stale ones included (tests: the heap stays bounded).</summary>
    internal int PendingTimers { get; private set; }

    /// <summary>Binds <paramref name="member"/> to this loop for good, starts the thread if it is not running, schedules a first turn.</summary>
    public void Attach(Ngtcp2LoopMember member)
    {
        Interlocked.Increment(ref _members);
        member.Bind(this);
        lock (_gate)
        {
            if (!_running)
            {
                _running = true;
                new Thread(Run) { IsBackground = true, Name = _name }.Start();
            }
        }

        member.Schedule();
    }

    /// <summary>Any thread (through <see cref="Ngtcp2LoopMember.Schedule"/>): the member's queued flag was clear.</summary>
    internal void Enqueue(Ngtcp2LoopMember member)
    {
        _ready.Enqueue(member);
        if (!_wake.IsSet)
        {
            _wake.Set();
        }
    }

    private void Run()
    {
        var idleSince = Environment.TickCount64;
        while (true)
        {
            FireTimers(Ngtcp2Clock.Now());
            for (var n = _ready.Count; n > 0 && _ready.TryDequeue(out var member); n--)
            {
                RunTurn(member);
            }

            _wake.Reset();
            if (!_ready.IsEmpty)
            {
                continue;
            }

            if (Members > 0)
            {
                idleSince = Environment.TickCount64;
            }
            else if (Environment.TickCount64 - idleSince >= (long)IdleLinger.TotalMilliseconds && TryStop())
            {
                return;
            }

            var timeout = SleepMilliseconds();
            if (timeout > 0)
            {
                _wake.Wait(timeout);
            }
        }
    }

    /// <summary>Ends the thread if still no connection is attached; <see cref="Attach"/> starts a new one.</summary>
    private bool TryStop()
    {
        lock (_gate)
        {
            if (Members > 0 || !_ready.IsEmpty)
            {
                return false;
            }

            _timers.Clear();
            PendingTimers = 0;
            _running = false;
            return true;
        }
    }

    private void RunTurn(Ngtcp2LoopMember member)
    {
        if (member.Finished)
        {
            return; // a stale entry: torn down after it was queued
        }

        member.ClearQueued();
        var turn = member.RunTurn();
        if (member.Finished)
        {
            Retire(member);
        }
        else if (turn.WorkLeft)
        {
            member.Schedule();
        }
        else if (turn.Deadline != member.TimerDeadline)
        {
            member.TimerDeadline = turn.Deadline;
            member.TimerGeneration++;
            _timers.Enqueue(new TimerEntry(member, member.TimerGeneration), turn.Deadline);
            PendingTimers = _timers.Count;
            if (_timers.Count > 1024 + (4 * Members))
            {
                Compact();
            }
        }
    }

    private void Retire(Ngtcp2LoopMember member)
    {
        try
        {
            member.Teardown();
        }
        catch (Exception e)
        {
            Ngtcp2Log.CallbackFailed(_logger, e, "teardown");
        }
        finally
        {
            Interlocked.Decrement(ref _members);
        }
    }

    /// <summary>Marks ready every member whose current deadline passed; stale entries (an older generation) are dropped.</summary>
    private void FireTimers(ulong now)
    {
        while (_timers.TryPeek(out var entry, out var deadline) && deadline <= now)
        {
            _timers.Dequeue();
            if (entry.Generation == entry.Member.TimerGeneration && !entry.Member.Finished)
            {
                entry.Member.TimerDeadline = ulong.MaxValue;
                entry.Member.Schedule();
            }
        }

        PendingTimers = _timers.Count;
    }

    /// <summary>Milliseconds until the earliest deadline, rounded up, at most a second; 0 when one is due.</summary>
    private int SleepMilliseconds()
    {
        if (!_timers.TryPeek(out _, out var deadline))
        {
            return MaxSleepMilliseconds;
        }

        var now = Ngtcp2Clock.Now();
        return deadline <= now ? 0 : (int)Math.Min((deadline - now + 999_999) / 1_000_000, MaxSleepMilliseconds);
    }

    /// <summary>Drops the stale entries when they outnumber the members (deadlines that moved many times within a second).</summary>
    private void Compact()
    {
        _compaction.Clear();
        while (_timers.TryDequeue(out var entry, out var deadline))
        {
            if (entry.Generation == entry.Member.TimerGeneration && !entry.Member.Finished)
            {
                _compaction.Add((entry, deadline));
            }
        }

        foreach (var (entry, deadline) in _compaction)
        {
            _timers.Enqueue(entry, deadline);
        }

        _compaction.Clear();
        PendingTimers = _timers.Count;
    }

    private readonly record struct TimerEntry(Ngtcp2LoopMember Member, long Generation);
}
