using System.Buffers.Binary;
using System.Collections.Concurrent;
using Accel.Core.Diagnostics;
using Accel.Core.Relay;
using Accel.Core.Relay.Resume;
using Accel.Core.Transport;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Edges;

/// <summary>
/// The server edge's resumable channels, by token: registers each while it is relayed, and attaches a client edge's
/// resume (a new stream on a new connection, authenticated like any) to the channel it names. A token that is unknown,
/// expired, or registered by another client edge (another key pin) is refused.
/// </summary>
internal sealed class ServerResumes(TimeSpan grace, ILogger logger)
{
    /// <summary>How long a resume waits for the channel's reader to drain the old stream.</summary>
    private static readonly TimeSpan s_drainTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, (ResumableStream Stream, string Pin)> _channels = new(StringComparer.Ordinal);

    public TimeSpan Grace => grace;

    /// <summary>
    /// Wraps a newly opened channel's stream; <paramref name="readAlready"/> channel bytes came with the request,
    /// <paramref name="route"/> says where it is carried (a resume moves it).
    /// </summary>
    public ResumableStream Register(ITransportStream stream, EdgeRequest request, string pin, long readAlready, ChannelRoute route)
    {
        var resumable = new ResumableStream(stream, request.Token, readAlready, default, grace, TimeProvider.System) { Route = route };
        _channels[Convert.ToHexString(request.Token.Span)] = (resumable, pin);
        return resumable;
    }

    public void Unregister(ResumableStream stream)
    {
        var key = Convert.ToHexString(stream.Token.Span);
        if (_channels.TryGetValue(key, out var entry) && ReferenceEquals(entry.Stream, stream))
        {
            _channels.TryRemove(KeyValuePair.Create(key, entry));
        }
    }

    /// <summary>
    /// Serves a resume request on <paramref name="stream"/>; true when the stream now belongs to the resumed channel.
    /// <paramref name="early"/> holds bytes that followed the request; <paramref name="connection"/> carries the stream.
    /// </summary>
    public async Task<bool> ResumeAsync(ITransportConnection connection, ITransportStream stream, EdgeRequest request, string pin, ReadOnlyMemory<byte> early, CancellationToken cancellationToken)
    {
        if (!_channels.TryGetValue(Convert.ToHexString(request.Token.Span), out var entry) || entry.Pin != pin)
        {
            ResumeLog.Refused(logger, request.LogName, request.Port, "unknown or expired channel");
            await RefuseAsync(stream, "unknown or expired channel", cancellationToken).ConfigureAwait(false);
            return false;
        }

        var channel = entry.Stream;
        if (!channel.IsSuspended)
        {
            // This edge has not noticed the loss yet (its idle timeout runs later): the client edge has moved on.
            channel.PrepareResume(RelayErrorCodes.Shutdown);
        }

        try
        {
            await channel.WaitDrainedAsync(cancellationToken).WaitAsync(s_drainTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            ResumeLog.Refused(logger, request.LogName, request.Port, "the channel's reader did not drain the old stream");
            await RefuseAsync(stream, "busy", cancellationToken).ConfigureAwait(false);
            return false;
        }

        stream.Urgency = channel.Urgency;
        var answer = new byte[EdgeRequest.MaxResponseLength + sizeof(long)];
        var n = EdgeRequest.WriteResponse(answer, EdgeStatus.Ok, null);
        BinaryPrimitives.WriteInt64LittleEndian(answer.AsSpan(n), channel.ReadOffset);
        await stream.WriteAsync(answer.AsMemory(0, n + sizeof(long)), false, cancellationToken).ConfigureAwait(false);
        if (!await channel.ResumeAsync(stream, request.ResumeOffset, early, cancellationToken).ConfigureAwait(false))
        {
            ResumeLog.Refused(logger, request.LogName, request.Port, "the client edge asked for bytes no longer retained");
            stream.Abort(AbortDirection.Both, RelayErrorCodes.Refused);
            return false;
        }

        channel.Route?.MoveTo(connection, stream.Id);
        ResumeLog.Resumed(logger, request.LogName, request.Port, request.ResumeOffset, channel.ReadOffset);
        return true;
    }

    private static async ValueTask RefuseAsync(ITransportStream stream, string reason, CancellationToken cancellationToken)
    {
        AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", "resume"));
        var answer = new byte[EdgeRequest.MaxResponseLength];
        var len = EdgeRequest.WriteResponse(answer, EdgeStatus.Unavailable, reason);
        try
        {
            await stream.WriteAsync(answer.AsMemory(0, len), completeWrites: true, cancellationToken).ConfigureAwait(false);
        }
        catch (TransportException)
        {
        }
    }
}

internal static partial class ResumeLog
{
    /// <summary>
    /// After a channel ended: when its edge connection never came back (grace over, or the resume refused), one line
    /// per SPICE session (its main channel's, at warning) says why; the session's other channels log at debug.
    /// </summary>
    public static void ChannelEnded(ILogger logger, ITransportStream stream, bool isMain, string host, int port)
    {
        if (stream is not ResumableStream { Failure: ResumeExpiredException or EdgeRefusedException } resumable)
        {
            return;
        }

        if (isMain)
        {
            SessionLost(logger, host, port, resumable.Failure!.Message);
        }
        else
        {
            ChannelLost(logger, host, port, resumable.Failure!.Message);
        }
    }

    [LoggerMessage(1023, LogLevel.Warning, "SPICE session to {Host}:{Port} closed: {Reason}; its channels are closed (the viewer reconnects)")]
    private static partial void SessionLost(ILogger logger, string host, int port, string reason);

    [LoggerMessage(1024, LogLevel.Debug, "Channel to {Host}:{Port} closed: {Reason}")]
    private static partial void ChannelLost(ILogger logger, string host, int port, string reason);

    [LoggerMessage(1020, LogLevel.Debug, "Channel to {Host}:{Port} resumed on a new edge connection (client edge had read {ClientRead} bytes, this edge {ServerRead})")]
    public static partial void Resumed(ILogger logger, string host, int port, long clientRead, long serverRead);

    [LoggerMessage(1026, LogLevel.Debug, "Resume attempt {Attempt} failed ({Reason}); next in {Seconds} s")]
    public static partial void AttemptFailed(ILogger logger, int attempt, string reason, double seconds);

    [LoggerMessage(1025, LogLevel.Debug, "Resume of a channel to {Host}:{Port} refused by the server edge: {Reason}")]
    public static partial void RefusedByPeer(ILogger logger, string host, int port, string reason);

    [LoggerMessage(1021, LogLevel.Warning, "Resume of a channel to {Host}:{Port} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string host, int port, string reason);

    [LoggerMessage(1022, LogLevel.Debug, "Channel to {Host}:{Port} waits for its edge connection to come back ({Reason}); it is kept for {Seconds} s")]
    public static partial void Suspended(ILogger logger, string host, int port, string reason, double seconds);
}
