using Accel.Core.Transport.Scheduling;
using Accel.Core.Edges;
using Accel.Core.Transport;

namespace Accel.Core.Tests.Scheduling;

public class WriteArbiterTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Acquire_StrictClass_NeverWaits()
    {
        var arbiter = new WriteArbiter(writeAheadBytes: 1000);
        var bulk = arbiter.CreateTicket();
        await bulk.AcquireAsync(ChannelClasses.Bulk, 1000, TestContext.Current.CancellationToken);

        var input = arbiter.CreateTicket();
        var task = input.AcquireAsync(ChannelClasses.Input, 100, TestContext.Current.CancellationToken);

        Assert.True(task.IsCompletedSuccessfully);
        input.Release();
        bulk.Release();
    }

    [Fact]
    public async Task Acquire_BeyondWriteAhead_WaitsUntilRelease()
    {
        var arbiter = new WriteArbiter(writeAheadBytes: 1000);
        var first = arbiter.CreateTicket();
        var second = arbiter.CreateTicket();
        await first.AcquireAsync(ChannelClasses.Display, 800, TestContext.Current.CancellationToken);

        var waiting = second.AcquireAsync(ChannelClasses.Display, 800, TestContext.Current.CancellationToken).AsTask();
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, arbiter.Waiting);

        first.Release();
        await waiting.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        Assert.Equal(800, arbiter.LowClassOutstanding);
        second.Release();
        Assert.Equal(0, arbiter.LowClassOutstanding);
    }

    [Fact]
    public async Task Acquire_StrictOutstanding_ShrinksWriteAheadForWeightedClasses()
    {
        var arbiter = new WriteArbiter(writeAheadBytes: 4000);
        var input = arbiter.CreateTicket();
        await input.AcquireAsync(ChannelClasses.Input, 10, TestContext.Current.CancellationToken);

        var bulk1 = arbiter.CreateTicket();
        var bulk2 = arbiter.CreateTicket();
        await bulk1.AcquireAsync(ChannelClasses.Bulk, 900, TestContext.Current.CancellationToken);
        var blocked = bulk2.AcquireAsync(ChannelClasses.Bulk, 900, TestContext.Current.CancellationToken).AsTask();

        // 900 + 900 > 4000 / 4 while an input write is outstanding.
        Assert.False(blocked.IsCompleted);
        input.Release();
        await blocked.WaitAsync(s_timeout, TestContext.Current.CancellationToken);
        bulk1.Release();
        bulk2.Release();
    }

    [Fact]
    public async Task Release_WithWaitersOfSeveralClasses_SharesByWeightAndBulkNeverStarves()
    {
        var arbiter = new WriteArbiter(writeAheadBytes: 1200);
        var holder = arbiter.CreateTicket();
        await holder.AcquireAsync(ChannelClasses.Display, 1200, TestContext.Current.CancellationToken);

        // Three writers per class keep both classes backlogged; one grant fits the write-ahead at a time.
        const int Rounds = 100;
        var writers = new List<(WriteArbiter.Ticket Ticket, byte Class, Task Wait)>();
        foreach (var cls in new[] { ChannelClasses.Main, ChannelClasses.Bulk })
        {
            for (var i = 0; i < 3; i++)
            {
                var t = arbiter.CreateTicket();
                writers.Add((t, cls, t.AcquireAsync(cls, 1200, TestContext.Current.CancellationToken).AsTask()));
            }
        }

        holder.Release();
        var mains = 0;
        var bulks = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var done = await Task.WhenAny(writers.Select(w => w.Wait)).WaitAsync(s_timeout, TestContext.Current.CancellationToken);
            var index = writers.FindIndex(w => w.Wait == done);
            var (ticket, cls, _) = writers[index];
            _ = cls == ChannelClasses.Main ? mains++ : bulks++;
            ticket.Release();
            writers[index] = (ticket, cls, ticket.AcquireAsync(cls, 1200, TestContext.Current.CancellationToken).AsTask());
        }

        // Weights 4:1 → Main gets about 80 %, Bulk about 20 % and never zero.
        Assert.InRange(mains, Rounds * 70 / 100, Rounds * 90 / 100);
        Assert.True(bulks > 0, "bulk must never starve");
    }

    [Fact]
    public async Task Acquire_Cancelled_WhileWaiting_ThrowsAndFreesTheSlot()
    {
        var arbiter = new WriteArbiter(writeAheadBytes: 100);
        var holder = arbiter.CreateTicket();
        await holder.AcquireAsync(ChannelClasses.Bulk, 100, TestContext.Current.CancellationToken);
        using var cts = new CancellationTokenSource();
        var waiter = arbiter.CreateTicket();
        var task = waiter.AcquireAsync(ChannelClasses.Bulk, 100, cts.Token).AsTask();

        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(s_timeout, TestContext.Current.CancellationToken));
        Assert.Equal(0, arbiter.Waiting);
        holder.Release();
        Assert.Equal(0, arbiter.LowClassOutstanding);
    }
}
