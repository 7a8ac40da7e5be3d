using Accel.Core.Transport.Scheduling;
using Accel.Core.Transport;

namespace Accel.Core.Tests.Scheduling;

public sealed class PrioritySchedulerTests
{
    private sealed class Sender(string name, PriorityClass cls)
    {
        public string Name { get; } = name;

        public PriorityClass Class { get; } = cls;

        public override string ToString() => Name;
    }

    [Fact]
    public void TryDequeue_StrictClasses_ServedInRankOrderBeforeWeighted()
    {
        var scheduler = new PriorityScheduler<Sender>();
        var senders = new[]
        {
            new Sender("bulk", PriorityClass.Bulk),
            new Sender("display", PriorityClass.Display),
            new Sender("cursor", PriorityClass.Cursor),
            new Sender("input", PriorityClass.Input),
            new Sender("control", PriorityClass.Control),
        };
        foreach (var sender in senders)
        {
            scheduler.Enqueue(sender, sender.Class);
        }

        var order = new List<string>();
        while (scheduler.TryDequeue(out var grant))
        {
            order.Add(grant.Sender.Name);
            scheduler.Complete(grant, 100);
        }

        Assert.Equal(["control", "input", "cursor"], order.Take(3));
        Assert.Equal(["bulk", "display"], order.Skip(3).Order());
        Assert.Equal(0, scheduler.Count);
    }

    [Fact]
    public void TryDequeue_StrictGrant_IsUnlimited()
    {
        var scheduler = new PriorityScheduler<Sender>();
        scheduler.Enqueue(new Sender("input", PriorityClass.Input), PriorityClass.Input);

        Assert.True(scheduler.TryDequeue(out var grant));
        Assert.Equal(int.MaxValue, grant.Bytes);
        Assert.False(scheduler.TryDequeue(out _));
    }

    [Fact]
    public void TryDequeue_WeightedClassesBacklogged_ShareBytesByWeightWithinTenPercent()
    {
        var options = new SchedulerOptions { MainWeight = 4, DisplayWeight = 2, BulkWeight = 1 };
        var scheduler = new PriorityScheduler<Sender>(options);
        var main = new Sender("main", PriorityClass.Main);
        var display = new Sender("display", PriorityClass.Display);
        var bulk = new Sender("bulk", PriorityClass.Bulk);
        scheduler.Enqueue(main, main.Class);
        scheduler.Enqueue(display, display.Class);
        scheduler.Enqueue(bulk, bulk.Class);

        // Every sender is always backlogged and sends packets of up to 1200 bytes within its grant.
        for (var i = 0; i < 70_000; i++)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            scheduler.Complete(grant, Math.Min(grant.Bytes, 1200));
            scheduler.Enqueue(grant.Sender, grant.Sender.Class);
        }

        double m = scheduler.BytesSentOf(PriorityClass.Main);
        double d = scheduler.BytesSentOf(PriorityClass.Display);
        double b = scheduler.BytesSentOf(PriorityClass.Bulk);
        var total = m + d + b;
        Assert.InRange(m / total, 4 / 7.0 * 0.9, 4 / 7.0 * 1.1);
        Assert.InRange(d / total, 2 / 7.0 * 0.9, 2 / 7.0 * 1.1);
        Assert.InRange(b / total, 1 / 7.0 * 0.9, 1 / 7.0 * 1.1);
    }

    [Fact]
    public void TryDequeue_HeavyDisplayAndMain_BulkStillGetsServed()
    {
        var scheduler = new PriorityScheduler<Sender>();
        var senders = new[] { new Sender("main", PriorityClass.Main), new Sender("display", PriorityClass.Display), new Sender("bulk", PriorityClass.Bulk) };
        foreach (var sender in senders)
        {
            scheduler.Enqueue(sender, sender.Class);
        }

        var bulkTurns = 0;
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            if (grant.Class == PriorityClass.Bulk)
            {
                bulkTurns++;
            }

            scheduler.Complete(grant, Math.Min(grant.Bytes, 1200));
            scheduler.Enqueue(grant.Sender, grant.Sender.Class);
        }

        Assert.True(bulkTurns >= 1000 / 9 * 0.9, $"bulk served {bulkTurns} times in 1000");
    }

    [Fact]
    public void TryDequeue_StrictFloodWhileBulkWaits_GuardServesBulkAfterTheBurst()
    {
        var options = new SchedulerOptions { StrictBurstBytes = 10_000 };
        var scheduler = new PriorityScheduler<Sender>(options);
        var input = new Sender("input", PriorityClass.Input);
        var bulk = new Sender("bulk", PriorityClass.Bulk);
        scheduler.Enqueue(bulk, bulk.Class);
        scheduler.Enqueue(input, input.Class);

        var strictBytesBeforeBulk = 0;
        while (true)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            if (grant.Class == PriorityClass.Bulk)
            {
                break;
            }

            scheduler.Complete(grant, 1000);
            strictBytesBeforeBulk += 1000;
            scheduler.Enqueue(grant.Sender, grant.Sender.Class);
            Assert.True(strictBytesBeforeBulk <= 20_000, "the strict flood starved bulk");
        }

        Assert.InRange(strictBytesBeforeBulk, 10_000, 11_000);
    }

    [Fact]
    public void TryDequeue_StrictFloodWithGuardDisabled_StarvesWeighted()
    {
        var scheduler = new PriorityScheduler<Sender>(new SchedulerOptions { StrictBurstBytes = 0 });
        var input = new Sender("input", PriorityClass.Input);
        scheduler.Enqueue(new Sender("bulk", PriorityClass.Bulk), PriorityClass.Bulk);
        scheduler.Enqueue(input, input.Class);

        for (var i = 0; i < 1000; i++)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            Assert.Equal(PriorityClass.Input, grant.Class);
            scheduler.Complete(grant, 1200);
            scheduler.Enqueue(grant.Sender, grant.Sender.Class);
        }
    }

    [Fact]
    public void Remove_QueuedSender_IsNeverGrantedAndOthersKeepOrder()
    {
        var scheduler = new PriorityScheduler<Sender>();
        var a = new Sender("a", PriorityClass.Display);
        var b = new Sender("b", PriorityClass.Display);
        var c = new Sender("c", PriorityClass.Display);
        scheduler.Enqueue(a, a.Class);
        scheduler.Enqueue(b, b.Class);
        scheduler.Enqueue(c, c.Class);

        Assert.True(scheduler.Remove(b));
        Assert.False(scheduler.Remove(b));
        Assert.Equal(2, scheduler.Count);
        Assert.Equal(2, scheduler.CountOf(PriorityClass.Display));

        var order = new List<string>();
        while (scheduler.TryDequeue(out var grant))
        {
            order.Add(grant.Sender.Name);
            scheduler.Complete(grant, 10);
        }

        Assert.Equal(["a", "c"], order);
    }

    [Fact]
    public void Enqueue_ManySendersInOneClass_ServedRoundRobin()
    {
        var scheduler = new PriorityScheduler<Sender>();
        var senders = Enumerable.Range(0, 10).Select(i => new Sender("s" + i, PriorityClass.Cursor)).ToArray();
        foreach (var sender in senders)
        {
            scheduler.Enqueue(sender, sender.Class);
        }

        var order = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            order.Add(grant.Sender.Name);
            scheduler.Complete(grant, 100);
            scheduler.Enqueue(grant.Sender, grant.Sender.Class);
        }

        Assert.Equal(senders.Select(s => s.Name).Concat(senders.Select(s => s.Name)), order);
    }
}
