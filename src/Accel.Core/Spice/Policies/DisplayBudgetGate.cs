using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Server edge, display channel: the <see cref="DisplayBudget"/> as an <see cref="IAckGate"/>. A due ACK passes while
/// the display bytes outstanding toward the client edge are under the budget; held ones are released by a 5 ms path
/// sampler once the client edge has caught up (or after the longest hold).
/// </summary>
internal sealed class DisplayBudgetGate : IAckGate, IDisposable
{
    private static readonly TimeSpan s_sampleInterval = TimeSpan.FromMilliseconds(5);

    private readonly DisplayBudget _budget;
    private readonly Func<long> _unacknowledgedBytes;
    private readonly Func<PathReading> _path;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private bool _disposed;

    /// <param name="unacknowledgedBytes">Bytes of the display stream the client edge has not acknowledged yet.</param>
    /// <param name="path">The path's min RTT and rate bound, where the engine knows them.</param>
    public DisplayBudgetGate(DisplayBudgetSettings settings, TimeProvider time, Func<long> unacknowledgedBytes, Func<PathReading> path)
    {
        _budget = new DisplayBudget(settings, time);
        _time = time;
        _unacknowledgedBytes = unacknowledgedBytes;
        _path = path;
    }

    public void Attach(IAckReleaser releaser) => _ = PaceAsync(releaser, _stop.Token);

    public bool TryPass()
    {
        lock (_lock)
        {
            _budget.Observe(_unacknowledgedBytes(), _path());
            return _budget.OnAckDue() == AckDecision.Send;
        }
    }

    public void OnNewGeneration()
    {
        lock (_lock)
        {
            _budget.ResetHeld();
        }
    }

    public void OnForwarded(long bytes)
    {
        lock (_lock)
        {
            _budget.OnForwarded(bytes);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        lock (_lock)
        {
            if (!_disposed)
            {
                _disposed = true;
                _budget.Dispose();
            }
        }

        _stop.Dispose();
    }

    private async Task PaceAsync(IAckReleaser releaser, CancellationToken token)
    {
        using var timer = new PeriodicTimer(s_sampleInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(token).ConfigureAwait(false))
            {
                int release;
                lock (_lock)
                {
                    if (_disposed)
                    {
                        return;
                    }

                    _budget.Observe(_unacknowledgedBytes(), _path());
                    release = _budget.TryRelease();
                }

                if (release > 0)
                {
                    releaser.Release(release);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SpiceProtocolException)
        {
            // The server does not read its ACKs: the channel's loops end it.
        }
    }
}
