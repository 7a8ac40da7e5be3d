using System.Collections.Concurrent;
using Accel.Core.Transport.Ngtcp2;
using Microsoft.Extensions.Logging.Abstractions;

namespace Accel.Core.Tests.Transport;

/// <summary>The event loop itself, with scripted members in place of connections: timers, fairness, thread affinity.</summary>
public sealed class Ngtcp2EventLoopTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Timers_ThreeDeadlines_FireInDeadlineOrder()
    {
        var group = new Ngtcp2EventLoopGroup(1, NullLogger.Instance);
        var order = new ConcurrentQueue<string>();
        var members = new[] { ("a", 150), ("b", 50), ("c", 100) }.Select(m => new ScriptedMember(m.Item1, order, turn => turn switch
        {
            0 => ScriptedMember.In(m.Item2),
            _ => ScriptedMember.Finish,
        })).ToArray();

        foreach (var member in members)
        {
            group.Attach(member);
        }

        await Task.WhenAll(members.Select(static m => m.TornDown)).WaitAsync(Timeout, Ct);

        // Each member's first turn ran at attach (a, b, c); the second when its deadline passed, in deadline order.
        Assert.Equal(["a", "b", "c", "b", "c", "a"], order.ToArray());
        Assert.Equal(0, group.Loops[0].Members);
    }

    [Fact]
    public async Task Timers_DeadlineMovedByAWake_OldEntryIsSkipped()
    {
        var group = new Ngtcp2EventLoopGroup(1, NullLogger.Instance);
        ScriptedMember? member = null;
        member = new ScriptedMember("d", new ConcurrentQueue<string>(), turn => turn switch
        {
            // Turn 0 sets a timer 100 ms away and is woken at once (a datagram during the turn).
            0 => Wake(member!, ScriptedMember.In(100)),
            // Turn 1 moves the deadline to 400 ms: the 100 ms entry is now stale and must not run turn 2.
            1 => ScriptedMember.In(400),
            _ => ScriptedMember.Finish,
        });

        group.Attach(member);
        await member.TornDown.WaitAsync(Timeout, Ct);

        Assert.Equal(3, member.Turns.Count);
        var gap = member.Turns[2].At - member.Turns[1].At;
        Assert.True(gap >= 390_000_000, $"turn 2 came {gap / 1_000_000} ms after turn 1, before its 400 ms deadline");
    }

    [Fact]
    public async Task WorkLeft_TwoBulkMembers_TakeTurnsRoundRobinAndATimerStillFires()
    {
        var group = new Ngtcp2EventLoopGroup(1, NullLogger.Instance);
        var order = new ConcurrentQueue<string>();
        var stop = 0;
        Func<int, Ngtcp2Turn> bulk = _ => Volatile.Read(ref stop) == 0 ? ScriptedMember.Busy : ScriptedMember.Finish;
        var a = new ScriptedMember("a", order, bulk);
        var b = new ScriptedMember("b", order, bulk);
        var timed = new ScriptedMember("t", order, turn => turn == 0 ? ScriptedMember.In(50) : ScriptedMember.Finish);

        group.Attach(a);
        group.Attach(b);
        group.Attach(timed);
        await timed.TornDown.WaitAsync(Timeout, Ct);
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(a.TornDown, b.TornDown).WaitAsync(Timeout, Ct);

        // Once both are attached, the members that always have work alternate: neither gets two turns in a row while
        // the other waits (a ran alone until b was attached).
        var bulkTurns = order.Where(static n => n != "t").ToArray();
        var start = Array.IndexOf(bulkTurns, "b");
        Assert.True(bulkTurns.Length - start > 20, $"only {bulkTurns.Length - start} bulk turns with both attached");
        for (var i = start + 1; i < bulkTurns.Length - 1; i++)
        {
            Assert.NotEqual(bulkTurns[i - 1], bulkTurns[i]);
        }

        Assert.True(b.Turns.Count > 10 && a.Turns.Count >= b.Turns.Count, $"a {a.Turns.Count} turns, b {b.Turns.Count}");
        Assert.Equal(2, timed.Turns.Count);
    }

    [Fact]
    public async Task Attach_SixMembersOnTwoLoops_EachStaysOnOneThreadAndLoadIsBalanced()
    {
        var group = new Ngtcp2EventLoopGroup(2, NullLogger.Instance);
        var members = Enumerable.Range(0, 6).Select(i => new ScriptedMember("m" + i, new ConcurrentQueue<string>(), turn => turn switch
        {
            0 => ScriptedMember.In(100), // none ends before all six are attached
            < 40 when turn % 3 == 0 => ScriptedMember.Busy,
            < 40 => ScriptedMember.In(turn % 2),
            _ => ScriptedMember.Finish,
        })).ToArray();

        var loops = members.Select(group.Attach).ToArray();
        Assert.Equal(3, group.Loops[0].Members);
        Assert.Equal(3, group.Loops[1].Members);
        await Task.WhenAll(members.Select(static m => m.TornDown)).WaitAsync(Timeout, Ct);

        var threadOf = new Dictionary<Ngtcp2EventLoop, int>();
        for (var i = 0; i < members.Length; i++)
        {
            Assert.Equal(41, members[i].Turns.Count);
            var threads = members[i].Turns.Select(static t => t.Thread).Distinct().ToArray();
            Assert.Single(threads);
            Assert.Equal(threads[0], members[i].TeardownThread);
            Assert.Equal(threadOf.TryAdd(loops[i], threads[0]) ? threads[0] : threadOf[loops[i]], threads[0]);
        }

        Assert.Equal(2, threadOf.Values.Distinct().Count());
        Assert.All(group.Loops, static l => Assert.Equal(0, l.Members));
    }

    [Fact]
    public void Group_LoopCountOutsideOneTo64_IsRefused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ngtcp2EventLoopGroup(0, NullLogger.Instance));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ngtcp2EventLoopGroup(65, NullLogger.Instance));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Ngtcp2Engine(eventLoops: 0));
        Assert.Equal(Math.Clamp(Environment.ProcessorCount, 1, 64), new Ngtcp2Engine().EventLoops);
    }

    private static Ngtcp2Turn Wake(ScriptedMember member, Ngtcp2Turn turn)
    {
        member.Schedule();
        return turn;
    }

    /// <summary>A member whose turn <c>n</c> returns what the script says; it records each turn's thread and time.</summary>
    private sealed class ScriptedMember(string name, ConcurrentQueue<string> order, Func<int, Ngtcp2Turn> script) : Ngtcp2LoopMember
    {
        public static readonly Ngtcp2Turn Busy = new(0, true);

        /// <summary>Not a deadline: <see cref="RunTurn"/> ends the member when the script returns this.</summary>
        public static readonly Ngtcp2Turn Finish = new(ulong.MaxValue, true);

        private readonly TaskCompletionSource _tornDown = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _finished;

        public List<(int Thread, ulong At)> Turns { get; } = [];

        public int TeardownThread { get; private set; }

        public Task TornDown => _tornDown.Task;

        public override bool Finished => _finished;

        public static Ngtcp2Turn In(int milliseconds) => new(Ngtcp2Clock.Now() + ((ulong)milliseconds * 1_000_000), false);

        public override Ngtcp2Turn RunTurn()
        {
            Turns.Add((Environment.CurrentManagedThreadId, Ngtcp2Clock.Now()));
            order.Enqueue(name);
            var turn = script(Turns.Count - 1);
            _finished = turn == Finish;
            return turn;
        }

        public override void Teardown()
        {
            TeardownThread = Environment.CurrentManagedThreadId;
            _tornDown.TrySetResult();
        }
    }
}
