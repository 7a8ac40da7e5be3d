using Accel.Core.Transport.Scheduling;
using Accel.Core.Edges;
using Accel.Core.Transport;

namespace Accel.Core.Tests.Scheduling;

public sealed class PrioritySchedulerTests
{
    private sealed class Sender(string name, byte cls)
    {
        public string Name { get; } = name;

        public byte Class { get; } = cls;

        public override string ToString() => Name;
    }

    [Fact]
    public void TryDequeue_StrictClasses_ServedInRankOrderBeforeWeighted()
    {
        var scheduler = new PriorityScheduler<Sender>();
        var senders = new[]
        {
            new Sender("bulk", ChannelClasses.Bulk),
            new Sender("display", ChannelClasses.Display),
            new Sender("cursor", ChannelClasses.Cursor),
            new Sender("input", ChannelClasses.Input),
            new Sender("control", ChannelClasses.Control),
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
        scheduler.Enqueue(new Sender("input", ChannelClasses.Input), ChannelClasses.Input);

        Assert.True(scheduler.TryDequeue(out var grant));
        Assert.Equal(int.MaxValue, grant.Bytes);
        Assert.False(scheduler.TryDequeue(out _));
    }

    [Fact]
    public void TryDequeue_WeightedClassesBacklogged_ShareBytesByWeightWithinTenPercent()
    {
        var options = new SchedulerOptions { Weights = [4, 2, 1, 1, 1] };
        var scheduler = new PriorityScheduler<Sender>(options);
        var main = new Sender("main", ChannelClasses.Main);
        var display = new Sender("display", ChannelClasses.Display);
        var bulk = new Sender("bulk", ChannelClasses.Bulk);
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

        double m = scheduler.BytesSentOf(ChannelClasses.Main);
        double d = scheduler.BytesSentOf(ChannelClasses.Display);
        double b = scheduler.BytesSentOf(ChannelClasses.Bulk);
        var total = m + d + b;
        Assert.InRange(m / total, 4 / 7.0 * 0.9, 4 / 7.0 * 1.1);
        Assert.InRange(d / total, 2 / 7.0 * 0.9, 2 / 7.0 * 1.1);
        Assert.InRange(b / total, 1 / 7.0 * 0.9, 1 / 7.0 * 1.1);
    }

    [Fact]
    public void TryDequeue_HeavyDisplayAndMain_BulkStillGetsServed()
    {
        var scheduler = new PriorityScheduler<Sender>();
        var senders = new[] { new Sender("main", ChannelClasses.Main), new Sender("display", ChannelClasses.Display), new Sender("bulk", ChannelClasses.Bulk) };
        foreach (var sender in senders)
        {
            scheduler.Enqueue(sender, sender.Class);
        }

        var bulkTurns = 0;
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            if (grant.Urgency == ChannelClasses.Bulk)
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
        var input = new Sender("input", ChannelClasses.Input);
        var bulk = new Sender("bulk", ChannelClasses.Bulk);
        scheduler.Enqueue(bulk, bulk.Class);
        scheduler.Enqueue(input, input.Class);

        var strictBytesBeforeBulk = 0;
        while (true)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            if (grant.Urgency == ChannelClasses.Bulk)
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
        var input = new Sender("input", ChannelClasses.Input);
        scheduler.Enqueue(new Sender("bulk", ChannelClasses.Bulk), ChannelClasses.Bulk);
        scheduler.Enqueue(input, input.Class);

        for (var i = 0; i < 1000; i++)
        {
            Assert.True(scheduler.TryDequeue(out var grant));
            Assert.Equal(ChannelClasses.Input, grant.Urgency);
            scheduler.Complete(grant, 1200);
            scheduler.Enqueue(grant.Sender, grant.Sender.Class);
        }
    }

    [Fact]
    public void Remove_QueuedSender_IsNeverGrantedAndOthersKeepOrder()
    {
        var scheduler = new PriorityScheduler<Sender>();
        var a = new Sender("a", ChannelClasses.Display);
        var b = new Sender("b", ChannelClasses.Display);
        var c = new Sender("c", ChannelClasses.Display);
        scheduler.Enqueue(a, a.Class);
        scheduler.Enqueue(b, b.Class);
        scheduler.Enqueue(c, c.Class);

        Assert.True(scheduler.Remove(b));
        Assert.False(scheduler.Remove(b));
        Assert.Equal(2, scheduler.Count);
        Assert.Equal(2, scheduler.CountOf(ChannelClasses.Display));

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
        var senders = Enumerable.Range(0, 10).Select(i => new Sender("s" + i, ChannelClasses.Cursor)).ToArray();
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
