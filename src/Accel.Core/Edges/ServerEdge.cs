using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Diagnostics;
using Accel.Core.Relay;
using Accel.Core.Relay.Compression;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Accel.Core.Edges;

/// <summary>
/// The data-centre edge: accepts authenticated client edges, and for each stream connects to the requested
/// SPICE backend if the allow-list permits it, then relays the channel.
/// </summary>
public sealed class ServerEdge
{
    private readonly ITransportListener _listener;
    private readonly ILogger _logger;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ITransportConnection, byte> _connections = new();
    private readonly PeerConnections _peers = new();
    private readonly ServerResumes _resumes;
    private readonly MainChannelHandover _mains;
    private readonly ServerChannelFeatures _features = new();
    private volatile Current _current;

    public ServerEdge(ITransportListener listener, ServerEdgeSettings settings, ILogger<ServerEdge>? logger = null)
    {
        _listener = listener;
        _current = new Current(settings, new BackendConnector(settings));
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _resumes = new ServerResumes(settings.ResumeGrace, _logger);
        _mains = new MainChannelHandover(_logger);
    }

    private ServerEdgeSettings Settings => _current.Settings;

    /// <summary>
    /// Applies reloaded settings (allow-list, upstream proxy, TLS backends, timeouts, relay) to channels opened from
    /// now on; channels already open keep running.
    /// </summary>
    public void Update(ServerEdgeSettings settings) => _current = new Current(settings, new BackendConnector(settings));

    /// <summary>
    /// Closes every edge connection whose peer <paramref name="stillAllowed"/> rejects (its pin was removed by a
    /// reload), with a log line each; returns how many.
    /// </summary>
    public int DisconnectPeers(Func<ReadOnlyMemory<byte>, bool> stillAllowed, string reason)
    {
        var closed = 0;
        foreach (var connection in _connections.Keys)
        {
            if (!stillAllowed(connection.PeerSpkiSha256))
            {
                EdgeLog.PeerRevoked(_logger, connection.RemoteEndPoint, Convert.ToBase64String(connection.PeerSpkiSha256.Span), reason);
                _ = CloseQuietlyAsync(connection);
                closed++;
            }
        }

        return closed;
    }

    private static async Task CloseQuietlyAsync(ITransportConnection connection)
    {
        try
        {
            await connection.CloseAsync(RelayErrorCodes.Refused).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TransportException or ObjectDisposedException or OperationCanceledException)
        {
            // Already going away.
        }
    }

    private sealed record Current(ServerEdgeSettings Settings, BackendConnector Connector);

    /// <summary>Runs until <paramref name="cancellationToken"/> is cancelled; accept failures are logged and the loop goes on.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ITransportConnection connection;
                try
                {
                    connection = await _listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (TransportException ex)
                {
                    EdgeLog.AcceptFailed(_logger, ex.Message);
                    continue;
                }

                connections.RemoveAll(static t => t.IsCompleted);
                connections.Add(HandleConnectionAsync(connection, cancellationToken));
            }
        }
        finally
        {
            await Task.WhenAll(connections).ConfigureAwait(false);
        }
    }

    private async Task HandleConnectionAsync(ITransportConnection connection, CancellationToken cancellationToken)
    {
        await using var _ = connection.ConfigureAwait(false);
        var pin = Convert.ToBase64String(connection.PeerSpkiSha256.Span);
        if (!_peers.TryAdd(pin, Settings.MaxConnectionsPerPeer, out var count))
        {
            EdgeLog.PeerRevoked(_logger, connection.RemoteEndPoint, pin, $"its connection {count} is above Limits:MaxConnectionsPerPeer ({Settings.MaxConnectionsPerPeer})");
            AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", "too_many_connections"));
            await CloseQuietlyAsync(connection).ConfigureAwait(false);
            return;
        }

        // The peer's slot is free once the connection closes, though resumable channels it carried may run on (on a
        // newer connection) long after.
        var slot = connection.Closed.ContinueWith(_ => _peers.Remove(pin), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await ServeConnectionAsync(connection, pin, cancellationToken).ConfigureAwait(false);
        await connection.DisposeAsync().ConfigureAwait(false);
        await slot.ConfigureAwait(false);
    }

    private async Task ServeConnectionAsync(ITransportConnection connection, string pin, CancellationToken cancellationToken)
    {
        EdgeLog.EdgeConnected(_logger, connection.RemoteEndPoint, pin);
        var limits = new ConnectionLimits();
        AccelMetrics.ActiveConnections.Add(1, AccelMetrics.Tags("role", "server"));
        AccelMetrics.Track(connection, "server");
        _connections.TryAdd(connection, 0);
        var streams = new List<Task>();
        var reason = "shutdown";
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                ITransportStream stream;
                try
                {
                    stream = await connection.AcceptStreamAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (TransportException ex)
                {
                    reason = ex.Error + (ex.ApplicationErrorCode is { } code ? " (code " + code + ")" : string.Empty);
                    break;
                }

                streams.RemoveAll(static t => t.IsCompleted);
                streams.Add(HandleStreamGuardedAsync(connection, stream, limits, cancellationToken));
            }
        }
        finally
        {
            await Task.WhenAll(streams).ConfigureAwait(false);
            _connections.TryRemove(KeyValuePair.Create(connection, (byte)0));
            AccelMetrics.Untrack(connection);
            AccelMetrics.ActiveConnections.Add(-1, AccelMetrics.Tags("role", "server"));
            EdgeLog.EdgeDisconnected(_logger, connection.RemoteEndPoint, reason);
        }
    }

    private async Task HandleStreamGuardedAsync(ITransportConnection connection, ITransportStream stream, ConnectionLimits limits, CancellationToken cancellationToken)
    {
        var handedOver = false;
        try
        {
            handedOver = await HandleStreamAsync(connection, stream, limits, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (TransportException)
        {
            // The client edge went away mid-setup; nothing to answer.
        }
        catch (Exception ex)
        {
            // A bug in one channel must not take the edge down.
            EdgeLog.StreamCrashed(_logger, ex);
            AccelMetrics.Errors.Add(1, AccelMetrics.Tags("kind", "internal"));
            stream.Abort(AbortDirection.Both, RelayErrorCodes.Shutdown);
        }
        finally
        {
            if (!handedOver)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Serves one stream's request; true when the stream was handed to a resumed channel (which owns it now).</summary>
    private async Task<bool> HandleStreamAsync(ITransportConnection connection, ITransportStream stream, ConnectionLimits limits, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            // 1. The request, within the request timeout.
            var filled = 0;
            EdgeRequest request;
            int consumed;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(Settings.RequestTimeout);
                while (true)
                {
                    if (EdgeRequest.TryParse(new ReadOnlySequence<byte>(buffer, 0, filled), out request, out consumed, out var error))
                    {
                        break;
                    }

                    if (error is not null || filled == buffer.Length)
                    {
                        await RefuseAsync(stream, null, EdgeStatus.BadRequest, error ?? "request too long", cancellationToken).ConfigureAwait(false);
                        EdgeLog.BadRequest(_logger, stream.Id, error ?? "request too long");
                        return false;
                    }

                    int n;
                    try
                    {
                        n = await stream.ReadAsync(buffer.AsMemory(filled), timeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        EdgeLog.BadRequest(_logger, stream.Id, "no request within " + Settings.RequestTimeout.TotalSeconds + " s");
                        AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", "bad_request"));
                        stream.Abort(AbortDirection.Both, RelayErrorCodes.ProtocolViolation);
                        return false;
                    }

                    if (n == 0)
                    {
                        EdgeLog.BadRequest(_logger, stream.Id, "stream ended before the request");
                        return false;
                    }

                    filled += n;
                }
            }

            if (request.IsResume)
            {
                var pin = Convert.ToBase64String(connection.PeerSpkiSha256.Span);
                return await _resumes.ResumeAsync(connection, stream, request, pin, buffer.AsMemory(consumed, filled - consumed).ToArray(), cancellationToken).ConfigureAwait(false);
            }

            if (request.SendsInputDatagrams && !Settings.InputDatagrams)
            {
                var unknown = EdgeRequest.UnknownFlags(EdgeRequest.InputDatagramsFlag);
                await RefuseAsync(stream, request, EdgeStatus.BadRequest, unknown, cancellationToken).ConfigureAwait(false);
                EdgeLog.BadRequest(_logger, stream.Id, unknown);
                return false;
            }

            if (!limits.TryEnter(request.Host, request.Port, Settings, out var refusal))
            {
                EdgeLog.ChannelRefused(_logger, request.LogName, request.Port, EdgeStatus.Unavailable, refusal!);
                await RefuseAsync(stream, request, EdgeStatus.Unavailable, refusal!, cancellationToken).ConfigureAwait(false);
                return false;
            }

            try
            {
                await RelayAsync(connection, stream, request, buffer, filled, consumed, cancellationToken).ConfigureAwait(false);
                return false;
            }
            finally
            {
                limits.Exit(request.Host, request.Port);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Connects the backend the request names and relays the channel; <paramref name="buffer"/> holds the request and early bytes.</summary>
    private async Task RelayAsync(ITransportConnection connection, ITransportStream stream, EdgeRequest request, byte[] buffer, int filled, int consumed, CancellationToken cancellationToken)
    {
        stream.Urgency = request.Urgency;
        var channel = ((SpiceChannelType)request.ChannelType).ToLabel();

        // 2. Allow-list on every resolved address (and on the upstream proxy), then the backend, directly or
        //    through the upstream proxy.
        var host = request.LogName;
        using var handover = await _mains.EnterAsync(request, cancellationToken).ConfigureAwait(false);
        var backend = await _current.Connector.ConnectAsync(request, cancellationToken).ConfigureAwait(false);
        if (backend.Socket is not { } socket)
        {
            EdgeLog.ChannelRefused(_logger, host, request.Port, backend.Status, backend.Reason);
            await RefuseAsync(stream, request, backend.Status, backend.Reason, cancellationToken).ConfigureAwait(false);
            return;
        }

        var target = backend.Target;
        try
        {
            var answer = new byte[EdgeRequest.MaxResponseLength];
            var len = EdgeRequest.WriteResponse(answer, EdgeStatus.Ok, null);
            await stream.WriteAsync(answer.AsMemory(0, len), false, cancellationToken).ConfigureAwait(false);

            // 4. The client's first byte (pipelined with the request, or sent after the answer): a client that
            //    speaks TLS itself is carried end to end untouched; a plain one gets TLS toward a backend on a TLS port.
            //    It must come within the link timeout: a silent tunnel holds a backend connection for nothing.
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(Settings.Relay.LinkTimeout);
                while (filled == consumed)
                {
                    int n;
                    try
                    {
                        n = await stream.ReadAsync(buffer.AsMemory(filled), deadline.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        EdgeLog.ChannelRefused(_logger, request.LogName, request.Port, EdgeStatus.BadRequest, $"no byte from the client within {Settings.Relay.LinkTimeout.TotalSeconds:0.#} s (Limits:LinkTimeout)");
                        AccelMetrics.Errors.Add(1, AccelMetrics.Tags("kind", "link_timeout"));
                        stream.Abort(AbortDirection.Both, RelayErrorCodes.TimedOut);
                        return;
                    }

                    if (n == 0)
                    {
                        return;
                    }

                    filled += n;
                }
            }

            // A compressed channel's first byte is a block header: the client edge compresses only SPICE it has read.
            var opaque = !request.IsCompressed && LinkSniff.IsTls(buffer[consumed]);
            System.Net.Security.SslStream? tls = null;
            if (!opaque && target is not null && BackendTls.Find(Settings.TlsBackends, target) is { } tlsBackend)
            {
                if (!backend.Prefix.IsEmpty)
                {
                    EdgeLog.ChannelRefused(_logger, host, request.Port, EdgeStatus.BackendRefused, "backend spoke before the TLS handshake");
                    stream.Abort(AbortDirection.Both, RelayErrorCodes.Refused);
                    return;
                }

                tls = await BackendTls.ConnectAsync(socket, tlsBackend, request, Settings.BackendConnectTimeout, _logger, cancellationToken).ConfigureAwait(false);
                if (tls is null)
                {
                    stream.Abort(AbortDirection.Both, RelayErrorCodes.Refused);
                    return;
                }
            }

            // 5. Relay. Bytes the client edge pipelined after its request go first.
            var early = buffer.AsMemory(consumed, filled - consumed).ToArray();
            var channelType = (SpiceChannelType)request.ChannelType;
            // Where the channel is carried: a resume moves it, and path readings, previews and input datagrams follow.
            var route = new ChannelRoute(connection, stream.Id);
            var resumable = request.IsResumable && _resumes.Grace > TimeSpan.Zero
                ? _resumes.Register(stream, request, Convert.ToBase64String(connection.PeerSpkiSha256.Span), early.Length, route)
                : null;
            stream = resumable ?? stream;
            using var codec = request.IsCompressed ? new WanCodec(Settings.WanCompression, request.ChannelType) : null;
            if (codec is not null)
            {
                // The early bytes are the client edge's first blocks: the compressed stream decodes them first. The
                // streams below it are disposed where they were made; the codec (LZ4 state) when the channel ends.
                stream = new WanCompressedStream(stream, codec, early);
                early = [];
            }

            EdgeLog.ChannelOpened(_logger, channel, host, request.Port);
            AccelMetrics.ActiveChannels.Add(1, AccelMetrics.Tags("channel", channel));
            RelayOutcome outcome;
            try
            {
                var relay = Settings.Relay;
                // The display budget's view of the path: the connection that carries the channel now.
                Func<long> unacknowledged = () => stream.UnacknowledgedBytes;
                Func<Spice.Display.PathReading> path = () => Spice.Display.PathReading.From(route.Current.Statistics(), stream.AcknowledgedBytes);
                Func<IAckGate>? budget = relay.DisplayBudget.Enabled
                    ? () => new DisplayBudgetGate(relay.DisplayBudget, TimeProvider.System, unacknowledged, path)
                    : null;
                var setup = new PumpSetup
                {
                    Settings = relay,
                    Policies = new ServerEdgePolicies(relay.DisplayCodec, relay.MaxTranscodedMessage, relay.DisplayKeepSmallerOriginal, budget,
                        relay.DisplayCanvas
                            ? toClient => new DisplayCanvasPolicy(relay.DisplayBudget, TimeProvider.System, unacknowledged, path, toClient,
                                lossy: relay.DisplayCanvasLossy,
                                previews: ServerChannelFeatures.Previews(request, route),
                                loss: request.TakesPreviews ? LossOf(route) : null)
                            : null,
                        request.SendsInputDatagrams ? (toServer, coalescing) => _features.InputSync(route, toServer, coalescing) : null),
                    Opaque = opaque,
                    OnChannel = type =>
                    {
                        stream.Urgency = type.ToUrgency();
                        channelType = type;
                    },
                };
                var pump = new ChannelPump(new StreamLeg(stream, early, relay.BufferSize), new SocketLeg(socket, tls, backend.Prefix, relay), setup, _logger);
                outcome = await pump.RunAsync(cancellationToken).ConfigureAwait(false);
                WanCompressedStream.LogSummary(_logger, stream, channel);
            }
            finally
            {
                AccelMetrics.ActiveChannels.Add(-1, AccelMetrics.Tags("channel", channel));
                if (resumable is not null)
                {
                    _resumes.Unregister(resumable);
                    await resumable.DisposeAsync().ConfigureAwait(false);
                }
            }

            if (outcome is not RelayOutcome.ProtocolViolation)
            {
                EdgeLog.ChannelEnded(_logger, channel, host, request.Port, outcome);
                ResumeLog.ChannelEnded(_logger, WanCompressedStream.Unwrap(stream), channelType == SpiceChannelType.Main, host, request.Port);
            }
            else
            {
                AccelMetrics.Errors.Add(1, AccelMetrics.Tags("kind", "protocol_violation"));
                EdgeLog.ChannelFailed(_logger, channel, host, request.Port, outcome);
            }
        }
        finally
        {
            socket.Dispose();
        }
    }

    /// <summary>The measured loss of whichever connection carries the channel now.</summary>
    private static Func<double> LossOf(ChannelRoute route)
    {
        var meter = new Spice.Input.LossMeter(() => route.Current.Statistics(), TimeProvider.System);
        return () => meter.Loss;
    }

    private static async ValueTask RefuseAsync(ITransportStream stream, EdgeRequest? request, EdgeStatus status, string reason, CancellationToken cancellationToken)
    {
        AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", status.ToString()));
        var answer = new byte[EdgeRequest.MaxResponseLength];
        var len = EdgeRequest.WriteResponse(answer, status, reason);
        try
        {
            await stream.WriteAsync(answer.AsMemory(0, len), completeWrites: true, cancellationToken).ConfigureAwait(false);
            stream.Abort(AbortDirection.Read, RelayErrorCodes.Refused);
        }
        catch (TransportException)
        {
        }
    }
}
