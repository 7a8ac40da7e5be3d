using Accel.Core.Transport;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Edges;

/// <summary>
/// Brings a lost server edge back fast: fresh connection attempts in quick succession (one every
/// <see cref="AttemptSpacing"/>, each waiting <see cref="AttemptTimeout"/> for its handshake), so that an Initial packet
/// leaves every 100–300 ms while the server edge does not answer. The first handshake after the link returns is then
/// at most one spacing away. Waiting inside one long attempt would
/// not be: its Initial retransmissions back off exponentially (1, 2, 4 s…), and so does the old connection's probe
/// timeout during an outage, so the first packet after the link's return could come seconds later (issue #11: 0.3–2.5 s
/// measured before; the goal is one RTT + 500 ms).
/// </summary>
internal sealed class ReconnectProbe(ITransportEngine engine, ILogger logger)
{
    /// <summary>The shortest attempt: two Initials a second at most, whatever the RTT.</summary>
    public static readonly TimeSpan MinAttempt = TimeSpan.FromMilliseconds(300);

    /// <summary>An attempt without a known RTT (an engine without statistics).</summary>
    public static readonly TimeSpan UnknownRttAttempt = TimeSpan.FromSeconds(1);

    /// <summary>How long one attempt waits for its handshake: room for two round trips and the server's work, within the configured timeout.</summary>
    public static TimeSpan AttemptTimeout(TimeSpan? rtt, TimeSpan handshakeTimeout)
    {
        var attempt = rtt is { } r && r > TimeSpan.Zero ? (2 * r) + TimeSpan.FromMilliseconds(200) : UnknownRttAttempt;
        attempt = attempt < MinAttempt ? MinAttempt : attempt;
        return handshakeTimeout > TimeSpan.Zero && attempt > handshakeTimeout ? handshakeTimeout : attempt;
    }

    /// <summary>How often a new attempt starts: once per RTT, between 100 and 300 ms (earlier attempts keep waiting meanwhile).</summary>
    public static TimeSpan AttemptSpacing(TimeSpan? rtt)
    {
        var r = rtt ?? MinAttempt;
        return r < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : r > MinAttempt ? MinAttempt : r;
    }

    /// <summary>
    /// Starts an attempt every <paramref name="spacing"/>, each waiting its handshake timeout, until one connects
    /// (returned; the others are cancelled, and closed should they connect too), <paramref name="goOn"/> says stop
    /// (null), or <paramref name="cancellationToken"/> is cancelled. Every failure goes to <paramref name="failed"/>; the
    /// first of a run is logged, the rest at debug (a long outage makes hundreds).
    /// </summary>
    public async Task<ITransportConnection?> RunAsync(TransportClientOptions options, string edgeName, TimeSpan spacing, Func<bool> goOn,
        Action<string> failed, CancellationToken cancellationToken)
    {
        using var losers = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var running = new List<Task<ITransportConnection>>();
        var failures = 0;
        try
        {
            while (true)
            {
                if (goOn())
                {
                    running.Add(engine.ConnectAsync(options, losers.Token).AsTask());
                }
                else if (running.Count == 0)
                {
                    return null;
                }

                var tick = Task.Delay(spacing, cancellationToken);
                while (true)
                {
                    var done = await Task.WhenAny([.. running, tick]).ConfigureAwait(false);
                    if (done == tick)
                    {
                        await tick.ConfigureAwait(false); // throws when cancelled
                        break;
                    }

                    var attempt = (Task<ITransportConnection>)done;
                    running.Remove(attempt);
                    if (attempt.IsCompletedSuccessfully)
                    {
                        return attempt.Result;
                    }

                    var reason = attempt.Exception?.GetBaseException() is TransportException ex ? ex.Message : null;
                    if (reason is null)
                    {
                        await attempt.ConfigureAwait(false); // not a transport failure (cancelled): rethrow
                        continue;
                    }

                    if (failures++ == 0)
                    {
                        ClientEdgeLog.ConnectFailed(logger, edgeName, options.RemoteEndPoint.ToString() ?? "?", reason);
                    }
                    else
                    {
                        ReconnectLog.AttemptFailed(logger, edgeName, failures, reason);
                    }

                    failed(reason);
                }
            }
        }
        finally
        {
            await losers.CancelAsync().ConfigureAwait(false);
            foreach (var attempt in running)
            {
                _ = CloseLateAsync(attempt);
            }
        }
    }

    /// <summary>An attempt that lost the race but connects anyway is closed.</summary>
    private static async Task CloseLateAsync(Task<ITransportConnection> attempt)
    {
        try
        {
            var connection = await attempt.ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TransportException or OperationCanceledException)
        {
        }
    }
}

internal static partial class ReconnectLog
{
    [LoggerMessage(1111, LogLevel.Debug, "Reconnect attempt {Attempt} to server edge {Name} failed: {Reason}")]
    public static partial void AttemptFailed(ILogger logger, string name, int attempt, string reason);

    [LoggerMessage(1112, LogLevel.Information, "Server edge {Name} answers no more (no packet for {Seconds} s): connecting anew; its channels resume on the new connection")]
    public static partial void Replacing(ILogger logger, string name, double seconds);

    [LoggerMessage(1113, LogLevel.Information, "Server edge {Name} reached on a new connection; the old one is closed")]
    public static partial void Replaced(ILogger logger, string name);
}
