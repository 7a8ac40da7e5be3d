using System.Globalization;
using Accel.Core.Transport;
using Accel.Edge.Options;
using Accel.Edge.Status;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Accel.Edge.Hosting;

/// <summary>
/// The sd_notify watchdog (WatchdogSec= in the unit; systemd passes it as $WATCHDOG_USEC): WATCHDOG=1 every half
/// interval, but only while the edge is healthy. Healthy means the thread pool runs this loop on time and every
/// open peer connection's transport loop makes progress (<see cref="TransportProgress"/>). When it is not, the
/// ping stops, the reason goes to the log and to STATUS=, and systemd restarts the edge after WatchdogSec.
/// </summary>
internal sealed partial class WatchdogNotifier(EdgeActivity activity, IOptions<EdgeOptions> options, ILogger<WatchdogNotifier> logger, TimeProvider time) : BackgroundService
{
    /// <summary>The watchdog interval systemd asks for, or null when it asks for none (or for another process).</summary>
    internal static TimeSpan? Interval()
    {
        if (!long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0)
        {
            return null;
        }

        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }

        return TimeSpan.FromMicroseconds(usec);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (Interval() is not { } interval)
        {
            return;
        }

        var tick = interval / 2;
        var progress = new TransportProgress(options.Value.Transport.KeepAliveInterval, tick, time, options.Value.Transport.IdleTimeout);
        using var timer = new PeriodicTimer(tick, time);
        var last = time.GetTimestamp();
        string? failing = null;
        try
        {
            do
            {
                // The loop itself is the thread pool's probe: a tick that comes a whole interval late means the
                // pool is starved or the process is stuck, and systemd would be right to restart it.
                var now = time.GetTimestamp();
                var late = time.GetElapsedTime(last, now) - tick;
                last = now;
                var reason = late > interval
                    ? $"the watchdog loop ran {late.TotalSeconds:0.#} s late (thread pool starved)"
                    : progress.Check(activity.Peers.Where(static p => p.Capabilities.HasFlag(TransportCapabilities.CongestionStatistics)).Select(static p => (p.PeerName, (object)p, Bytes(p))), now);
                if (reason is null)
                {
                    ServiceNotifier.Notify("WATCHDOG=1");
                }
                else if (reason != failing)
                {
                    Unhealthy(logger, reason);
                    ServiceNotifier.Notify("STATUS=unhealthy: " + reason);
                }

                failing = reason;
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static long Bytes(ObservedConnection connection)
    {
        var s = connection.GetStatistics();
        return s.BytesSent + s.BytesReceived;
    }

    [LoggerMessage(2401, LogLevel.Critical, "Watchdog: {Reason}; no longer telling systemd the edge is alive (it restarts the edge after WatchdogSec)")]
    private static partial void Unhealthy(ILogger logger, string reason);
}

/// <summary>
/// Whether every open connection's transport loop is alive: with keep-alive on, an open connection sends a PING at
/// least every keep-alive interval (and keeps probing a silent peer until its idle timeout closes it), so its
/// byte counters, which the transport loop updates, advance. A connection whose counters stand still for three
/// keep-alive intervals plus one watchdog tick has a stuck loop. Keep-alive off: nothing to judge by, always alive.
/// Only engines whose counters are the engine's own (<see cref="TransportCapabilities.CongestionStatistics"/>,
/// ngtcp2: every datagram) are judged; msquic's count application bytes only, which an idle session does not move.
/// </summary>
internal sealed class TransportProgress(TimeSpan keepAlive, TimeSpan tick, TimeProvider time, TimeSpan idleTimeout = default)
{
    private readonly Dictionary<object, (long Bytes, long Since)> _seen = [];
    private readonly HashSet<object> _present = [];

    /// <summary>
    /// Three keep-alive intervals, but at least the idle timeout: while the peer does not answer (an outage), the loop
    /// probes ever more rarely (PTO backoff) until the idle timeout closes the connection; that is not a stuck loop.
    /// </summary>
    public TimeSpan StallLimit { get; } = (keepAlive * 3 > idleTimeout ? keepAlive * 3 : idleTimeout) + tick;

    /// <summary>Records each open connection's counters; returns why the edge is unhealthy, or null.</summary>
    public string? Check(IEnumerable<(string Name, object Key, long Bytes)> connections, long now)
    {
        string? reason = null;
        _present.Clear();
        foreach (var (name, key, bytes) in connections)
        {
            _present.Add(key);
            if (!_seen.TryGetValue(key, out var seen) || seen.Bytes != bytes)
            {
                _seen[key] = (bytes, now);
                continue;
            }

            var stalled = time.GetElapsedTime(seen.Since, now);
            if (keepAlive > TimeSpan.Zero && stalled > StallLimit)
            {
                reason ??= $"the transport loop of peer {name} made no progress for {stalled.TotalSeconds:0} s";
            }
        }

        foreach (var key in _seen.Keys.Where(k => !_present.Contains(k)).ToList())
        {
            _seen.Remove(key);
        }

        return reason;
    }
}
