using System.Buffers.Binary;
using Accel.Core.Relay;
using Accel.Core.Relay.Resume;
using Accel.Core.Transport;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Accel.Core.Edges;

/// <summary>
/// The client edge's half of resumable channels: wraps each newly opened channel in a <see cref="ResumableStream"/>,
/// and when its edge connection is lost, reconnects (Polly: exponential backoff with jitter, for as long as the channel
/// waits) and resumes it on a stream of the new connection. A refusal (the server edge restarted, or the grace ran out
/// there) ends the channel.
/// </summary>
internal sealed class ClientResumer(ServerEdgeLinks links, TimeSpan grace, ILogger logger)
{
    private readonly ResiliencePipeline _pipeline = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            OnRetry = args =>
            {
                ResumeLog.AttemptFailed(logger, args.AttemptNumber + 1, args.Outcome.Exception?.Message ?? "?", args.RetryDelay.TotalSeconds);
                return default;
            },
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            // Small: a first attempt can meet the lost connection still closing (its streams fail before it is
            // closed) and fail at once; the next must not wait long.
            Delay = TimeSpan.FromMilliseconds(50),
            MaxDelay = TimeSpan.FromSeconds(5),
            ShouldHandle = new PredicateBuilder().Handle<TransportException>().Handle<TimeoutRejectedException>(),
        })
        .AddTimeout(TimeSpan.FromSeconds(15))
        .Build();

    public bool Enabled => grace > TimeSpan.Zero;

    /// <summary>
    /// Wraps an opened channel; <paramref name="early"/> went with the request, <paramref name="leftover"/> came with the
    /// answer; each resume moves <paramref name="route"/> to the new connection.
    /// </summary>
    public ResumableStream Wrap(ITransportStream stream, string edgeName, EdgeRequest request, ReadOnlySpan<byte> early, int leftover, ChannelRoute route)
        => new(stream, request.Token, leftover, early, grace, TimeProvider.System, channel => _ = ResumeAsync(edgeName, request, channel)) { Route = route };

    private async Task ResumeAsync(string edgeName, EdgeRequest original, ResumableStream channel)
    {
        var stop = channel.FailedToken;
        ResumeLog.Suspended(logger, original.LogName, original.Port, channel.Loss?.Error.ToString() ?? "?", grace.TotalSeconds);
        try
        {
            await channel.WaitDrainedAsync(stop).ConfigureAwait(false);
            // Wait for the link as long as the channel may (the reconnect run is shared and quick): a timeout here
            // would put this channel in the retry's backoff, and it would resume seconds after the link is back.
            await links.GetAsync(edgeName, stop, reconnecting: true).ConfigureAwait(false);
            await _pipeline.ExecuteAsync(
                static async (state, ct) => await state.Self.TryResumeAsync(state.EdgeName, state.Original, state.Channel, ct).ConfigureAwait(false),
                (Self: this, EdgeName: edgeName, Original: original, Channel: channel),
                stop).ConfigureAwait(false);
        }
        catch (EdgeRefusedException ex)
        {
            // The session's one line comes when the channel ends (ResumeLog.ChannelEnded).
            ResumeLog.RefusedByPeer(logger, original.LogName, original.Port, ex.Status + " (" + ex.Reason + ")");
            channel.Fail(ex);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The channel ended (grace over, or closed by its viewer) while waiting.
        }
    }

    private async ValueTask TryResumeAsync(string edgeName, EdgeRequest original, ResumableStream channel, CancellationToken cancellationToken)
    {
        var connection = await links.GetAsync(edgeName, cancellationToken, reconnecting: true).ConfigureAwait(false);
        var stream = await connection.OpenStreamAsync(StreamDirection.Bidirectional, channel.Urgency, cancellationToken).ConfigureAwait(false);
        try
        {
            var request = original with { Flags = (byte)((original.Flags & ~EdgeRequest.ResumableFlag) | EdgeRequest.ResumeFlag), ResumeOffset = channel.ReadOffset };
            var head = new byte[EdgeRequest.MaxLength];
            var n = request.Write(head);
            await stream.WriteAsync(head.AsMemory(0, n), false, cancellationToken).ConfigureAwait(false);
            var (rest, _) = await EdgeAnswer.ReadAsync(stream, sizeof(long), cancellationToken).ConfigureAwait(false);
            var serverRead = BinaryPrimitives.ReadInt64LittleEndian(rest.Span);
            if (!await channel.ResumeAsync(stream, serverRead, rest[sizeof(long)..], cancellationToken).ConfigureAwait(false))
            {
                throw new EdgeRefusedException(EdgeStatus.BadRequest, $"the server edge resumes at byte {serverRead}, no longer retained here");
            }

            channel.Route?.MoveTo(connection, stream.Id);
            ResumeLog.Resumed(logger, original.LogName, original.Port, request.ResumeOffset, serverRead);
        }
        catch
        {
            stream.Abort(AbortDirection.Both, RelayErrorCodes.Refused);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>Reads the server edge's answer to an edge request.</summary>
internal static class EdgeAnswer
{
    /// <summary>
    /// Reads the answer, and <paramref name="trailer"/> bytes after an OK one; returns the bytes after the answer. A
    /// refusal or a stream that ends first is an <see cref="EdgeRefusedException"/>.
    /// </summary>
    public static async Task<(ReadOnlyMemory<byte> After, EdgeStatus Status)> ReadAsync(ITransportStream stream, int trailer, CancellationToken cancellationToken)
    {
        var answer = new byte[4096];
        var filled = 0;
        while (true)
        {
            var read = await stream.ReadAsync(answer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EdgeRefusedException(EdgeStatus.Unavailable, "stream ended before the answer");
            }

            filled += read;
            if (EdgeRequest.TryParseResponse(answer.AsSpan(0, filled), out var status, out var reason, out var consumed))
            {
                if (status != EdgeStatus.Ok)
                {
                    throw new EdgeRefusedException(status, reason);
                }

                if (filled - consumed >= trailer)
                {
                    return (answer.AsMemory(consumed, filled - consumed), status);
                }
            }

            if (filled == answer.Length)
            {
                throw new EdgeRefusedException(EdgeStatus.BadRequest, "answer too long");
            }
        }
    }
}
