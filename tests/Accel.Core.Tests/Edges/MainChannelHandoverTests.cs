using System.Diagnostics;
using Accel.Core.Edges;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Edges;

public sealed class MainChannelHandoverTests
{
    private static EdgeRequest MainTo(string host = "vm", ushort port = 5900) => new(host, port, 0, (byte)SpiceChannelType.Main);

    [Fact]
    public async Task NewMain_WaitsForTheOlderMainToTheSameBackendToEnd()
    {
        var handover = new MainChannelHandover(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var ct = TestContext.Current.CancellationToken;
        var old = await handover.EnterAsync(MainTo(), ct);

        var next = handover.EnterAsync(MainTo(), ct).AsTask();
        Assert.False(next.IsCompleted);
        old.Dispose();
        using var entered = await next.WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    [Fact]
    public async Task OtherBackendsAndChannelTypes_PassAtOnce()
    {
        var handover = new MainChannelHandover(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var ct = TestContext.Current.CancellationToken;
        using var old = await handover.EnterAsync(MainTo(), ct);

        Assert.True(handover.EnterAsync(MainTo(port: 5901), ct).IsCompletedSuccessfully);
        Assert.True(handover.EnterAsync(MainTo(host: "other"), ct).IsCompletedSuccessfully);
        Assert.True(handover.EnterAsync(new EdgeRequest("vm", 5900, 0, (byte)SpiceChannelType.Display), ct).IsCompletedSuccessfully);
    }

    [Fact]
    public async Task OlderMainThatStaysOpen_DelaysTheNewOneByTheBoundOnly()
    {
        var handover = new MainChannelHandover(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var ct = TestContext.Current.CancellationToken;
        using var live = await handover.EnterAsync(MainTo(), ct);

        var sw = Stopwatch.StartNew();
        using var next = await handover.EnterAsync(MainTo(), ct);
        Assert.InRange(sw.Elapsed, MainChannelHandover.Wait - TimeSpan.FromMilliseconds(50), MainChannelHandover.Wait + TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task CancelledWait_LeavesNothingOpenBehind()
    {
        var handover = new MainChannelHandover(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var ct = TestContext.Current.CancellationToken;
        var old = await handover.EnterAsync(MainTo(), ct);
        using var cts = new CancellationTokenSource();
        var cancelled = handover.EnterAsync(MainTo(), cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);

        old.Dispose();
        Assert.True(handover.EnterAsync(MainTo(), ct).IsCompletedSuccessfully); // nothing else open: no wait
    }
}
