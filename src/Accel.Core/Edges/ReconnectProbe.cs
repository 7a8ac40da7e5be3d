using Accel.Core.Transport;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Edges;

/// <summary>
/// Brings a lost server edge back fast: fresh connection attempts in quick succession, each with a short handshake
/// timeout, so that an Initial packet leaves every <see cref="AttemptTimeout"/> while the server edge does not answer.
/// The first handshake after the link returns is then at most one attempt away. Waiting inside one long attempt would
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

    /// <summary>
    /// Attempts until one connects (returned), <paramref name="goOn"/> says stop (null), or <paramref name="cancellationToken"/>
    /// is cancelled. Every failure goes to <paramref name="failed"/>; the first of a run is logged, the rest at debug
    /// (a long outage makes hundreds).
    /// </summary>
    public async Task<ITransportConnection?> RunAsync(TransportClientOptions options, string edgeName, Func<bool> goOn, Action<string> failed,
        CancellationToken cancellationToken)
    {
        var failures = 0;
        while (goOn())
        {
            var started = TimeProvider.System.GetTimestamp();
            try
            {
                return await engine.ConnectAsync(options, cancellationToken).ConfigureAwait(false);
            }
            catch (TransportException ex)
            {
                if (failures++ == 0)
                {
                    ClientEdgeLog.ConnectFailed(logger, edgeName, options.RemoteEndPoint.ToString() ?? "?", ex.Message);
                }
                else
                {
                    ReconnectLog.AttemptFailed(logger, edgeName, failures, ex.Message);
                }

                failed(ex.Message);
            }

            // An attempt that fails at once (refused, unreachable) does not make the next one sooner.
            var left = options.HandshakeTimeout - TimeProvider.System.GetElapsedTime(started);
            if (left > TimeSpan.Zero)
            {
                await Task.Delay(left, cancellationToken).ConfigureAwait(false);
            }
        }

        return null;
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
