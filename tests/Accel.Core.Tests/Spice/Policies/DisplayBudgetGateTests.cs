using Accel.Core.Spice.Display;
using Accel.Core.Spice.Policies;
using Microsoft.Extensions.Time.Testing;

namespace Accel.Core.Tests.Spice.Policies;

public sealed class DisplayBudgetGateTests
{
    [Fact]
    public async Task Gate_HoldsWhileDisplayBytesAreOutstanding_AndReleasesOnceTheClientEdgeCaughtUp()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new FakeTimeProvider();
        long unacknowledged = 0;
        using var gate = new DisplayBudgetGate(DisplayBudgetSettings.Default, time, () => Volatile.Read(ref unacknowledged), () => new PathReading(TimeSpan.FromMilliseconds(50)));
        var releaser = new Releaser();
        gate.Attach(releaser);

        Assert.True(gate.TryPass());
        gate.OnForwarded(1_000_000);
        Volatile.Write(ref unacknowledged, 1_000_000);
        Assert.False(gate.TryPass()); // 1 MB outstanding, above the 256 KB the budget starts with
        Assert.False(gate.TryPass());

        Volatile.Write(ref unacknowledged, 0);
        time.Advance(TimeSpan.FromMilliseconds(5));
        Assert.Equal(2, await releaser.Released.Task.WaitAsync(TimeSpan.FromSeconds(10), ct));
    }

    [Fact]
    public void Gate_NewGeneration_ForgetsHeldAcks()
    {
        var time = new FakeTimeProvider();
        using var gate = new DisplayBudgetGate(DisplayBudgetSettings.Default, time, () => 1_000_000, () => default);
        gate.Attach(new Releaser());
        gate.OnForwarded(1_000_000);
        Assert.False(gate.TryPass());
        gate.OnNewGeneration();

        // Nothing held any more: the next due ACK is judged on the budget alone (still over it: held).
        Assert.False(gate.TryPass());
    }

    private sealed class Releaser : IAckReleaser
    {
        public TaskCompletionSource<int> Released { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Held => 0;

        public void Release(int count) => Released.TrySetResult(count);
    }
}
