using Accel.Core.Diagnostics;
using Accel.Core.Transport;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Accel.Core.Edges;

/// <summary>
/// The client edge's connections, one per server edge: connects on demand (a short Polly retry), watches each for
/// answers (<see cref="LinkWatch"/>), remembers why the last connect failed, and logs and counts each connection's end.
/// </summary>
internal sealed class ServerEdgeLinks : IAsyncDisposable
{
    private readonly ITransportEngine _engine;
    private readonly ClientEdgeSettings _settings;
    private readonly ILogger _logger;
    private readonly Dictionary<string, EdgeSlot> _slots = new(StringComparer.Ordinal);
    private readonly ResiliencePipeline _connectPipeline;

    public ServerEdgeLinks(ITransportEngine engine, ClientEdgeSettings settings, ILogger logger)
    {
        _engine = engine;
        _settings = settings;
        _logger = logger;
        foreach (var (name, _) in settings.ServerEdges)
        {
            _slots[name] = new EdgeSlot();
        }

        _connectPipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = 4,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(3),
                ShouldHandle = new PredicateBuilder().Handle<TransportException>(static e => e.Error is TransportError.ConnectionRefused or TransportError.ConnectionIdle or TransportError.InternalError),
            })
            .Build();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var slot in _slots.Values)
        {
            var c = slot.Connection;
            slot.Connection = null;
            slot.Watch?.Dispose();
            if (c is not null)
            {
                AccelMetrics.Untrack(c);
                try
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await c.CloseAsync(0, cts.Token).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is TransportException or OperationCanceledException)
                {
                }

                await c.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether the named server edge's current connection answers (null before the first connection).</summary>
    public LinkWatch? WatchOf(string edgeName) => _slots.TryGetValue(edgeName, out var slot) ? slot.Watch : null;

    /// <summary>
    /// The live connection to the named server edge, connecting first when there is none. Unless
    /// <paramref name="reconnecting"/> (the hosting layer's reconnect loop), a server edge whose last connect failed is
    /// refused at once.
    /// </summary>
    public async ValueTask<ITransportConnection> GetAsync(string edgeName, CancellationToken cancellationToken, bool reconnecting = false)
    {
        if (!_slots.TryGetValue(edgeName, out var slot) || !_settings.ServerEdges.TryGetValue(edgeName, out var target))
        {
            throw new EdgeRefusedException(EdgeStatus.BadRequest, "no server edge named '" + edgeName + "'");
        }

        var current = slot.Connection;
        if (current is not null && !current.Closed.IsCompleted)
        {
            return current;
        }

        if (!reconnecting && slot.LastFailure is { } failure)
        {
            // The last attempt to reach this server edge failed and no connection exists: the reconnect loop keeps
            // trying; a new channel is refused at once rather than after another round of handshake timeouts.
            throw new TransportException(TransportError.ConnectionRefused, $"server edge {edgeName} is unreachable ({failure})");
        }

        return await ConnectSlotAsync(edgeName, slot, target, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<ITransportConnection> ConnectSlotAsync(string edgeName, EdgeSlot slot, ServerEdgeTarget target, CancellationToken cancellationToken)
    {
        ITransportConnection? current;
        await slot.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = slot.Connection;
            if (current is not null && !current.Closed.IsCompleted)
            {
                return current;
            }

            if (current is not null)
            {
                AccelMetrics.Untrack(current);
                await current.DisposeAsync().ConfigureAwait(false);
                slot.Connection = null;
            }

            var options = _settings.ClientOptions(target);
            ITransportConnection connection;
            try
            {
                connection = await _connectPipeline.ExecuteAsync(
                async ct =>
                {
                    try
                    {
                        return await _engine.ConnectAsync(options, ct).ConfigureAwait(false);
                    }
                    catch (TransportException ex)
                    {
                        ClientEdgeLog.ConnectFailed(_logger, target.Name, target.Address.ToString() ?? "?", ex.Message);
                        throw;
                    }
                },
                cancellationToken).ConfigureAwait(false);
            }
            catch (TransportException ex)
            {
                slot.LastFailure = ex.Message;
                throw;
            }

            slot.LastFailure = null;
            slot.Watch?.Dispose();
            slot.Watch = new LinkWatch(connection, TimeProvider.System);
            EdgeLog.ServerEdgeConnected(_logger, target.Name, connection.RemoteEndPoint);
            AccelMetrics.Track(connection, "client");
            AccelMetrics.ActiveConnections.Add(1, AccelMetrics.Tags("role", "client"));
            _ = WatchAsync(target.Name, connection);
            slot.Connection = connection;
            return connection;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    private async Task WatchAsync(string name, ITransportConnection connection)
    {
        var reason = await connection.Closed.ConfigureAwait(false);
        AccelMetrics.ActiveConnections.Add(-1, AccelMetrics.Tags("role", "client"));
        AccelMetrics.Untrack(connection);
        EdgeLog.ServerEdgeLost(_logger, name, reason.Error + ": " + reason.Message);
    }

    private sealed class EdgeSlot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ITransportConnection? Connection { get; set; }

        /// <summary>Whether the current connection's peer answers.</summary>
        public LinkWatch? Watch { get; set; }

        /// <summary>Why the last connect failed; null once one succeeds.</summary>
        public string? LastFailure { get; set; }
    }
}
