using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>The listeners' instruments on the SpiceAccel meter (all listeners together).</summary>
internal static class ListenerMetrics
{
    public static readonly Counter<long> Refused = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.quic.handshakes_refused", "{packet}", "Initial packets of new clients the server edge dropped, by reason (half_open_cap, invalid_token)");

    public static readonly Counter<long> Retries = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.quic.retries", "{packet}", "Stateless Retry packets the server edge sent to new clients");

    public static readonly UpDownCounter<long> HalfOpen = AccelMetrics.Meter.CreateUpDownCounter<long>(
        "spiceaccel.quic.handshakes_half_open", "{connection}", "Server-edge connections whose handshake is in progress");
}

/// <summary>What one listener's admission did with new clients' Initials; also counted in <see cref="ListenerMetrics"/>.</summary>
internal sealed class ListenerCounters
{
    private long _admitted;
    private long _droppedAtCap;
    private long _invalidTokens;
    private long _retries;
    private TaskCompletionSource? _waiter;

    /// <summary>Initials that built a connection.</summary>
    public long Admitted => Interlocked.Read(ref _admitted);

    /// <summary>Initials dropped because <see cref="TransportListenerOptions.MaxHalfOpenConnections"/> were in progress.</summary>
    public long DroppedAtCap => Interlocked.Read(ref _droppedAtCap);

    /// <summary>Initials dropped because their Retry token did not verify (forged, expired, or from another address).</summary>
    public long InvalidTokens => Interlocked.Read(ref _invalidTokens);

    /// <summary>Retry packets sent.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public void OnAdmitted()
    {
        ListenerMetrics.HalfOpen.Add(1);
        Bump(ref _admitted);
    }

    public static void OnHalfOpenEnded() => ListenerMetrics.HalfOpen.Add(-1);

    public void OnDroppedAtCap()
    {
        ListenerMetrics.Refused.Add(1, AccelMetrics.Tags("reason", "half_open_cap"));
        Bump(ref _droppedAtCap);
    }

    public void OnInvalidToken()
    {
        ListenerMetrics.Refused.Add(1, AccelMetrics.Tags("reason", "invalid_token"));
        Bump(ref _invalidTokens);
    }

    public void OnRetry()
    {
        ListenerMetrics.Retries.Add(1);
        Bump(ref _retries);
    }

    /// <summary>
    /// Completes when <paramref name="condition"/> holds; re-checked after each count (no polling, no timer). One
    /// waiter at a time (tests and the bench).
    /// </summary>
    public async Task WaitAsync(Func<ListenerCounters, bool> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _waiter, waiter);
            if (condition(this))
            {
                return;
            }

            await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void Bump(ref long field)
    {
        Interlocked.Increment(ref field);
        // Nothing is allocated per packet: only a waiting caller (a test, a bench) has a completion to signal.
        Interlocked.Exchange(ref _waiter, null)?.TrySetResult();
    }
}
