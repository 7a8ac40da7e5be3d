using Accel.Core.Diagnostics;
using Accel.Core.Transport;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Accel.Core.Edges;

/// <summary>
/// The client edge's connections, one per server edge: connects on demand (a short Polly retry), watches each for
/// answers (<see cref="LinkWatch"/>), remembers why the last connect failed, and logs and counts each connection's end.
/// Once a server edge has been reached, a lost connection is replaced by quick attempts (<see cref="ReconnectProbe"/>),
/// and with resume on, so is one whose peer stopped answering: its channels resume on the new connection as soon as the
/// link is back, instead of waiting for the old one's backed-off probes.
/// </summary>
internal sealed class ServerEdgeLinks : IAsyncDisposable
{
    private readonly ITransportEngine _engine;
    private readonly ClientEdgeSettings _settings;
    private readonly ILogger _logger;
    private readonly Dictionary<string, EdgeSlot> _slots = new(StringComparer.Ordinal);
    private readonly ResiliencePipeline _connectPipeline;
    private readonly ReconnectProbe _probe;
    private readonly CancellationTokenSource _stopping = new();

    public ServerEdgeLinks(ITransportEngine engine, ClientEdgeSettings settings, ILogger logger)
    {
        _engine = engine;
        _settings = settings;
        _logger = logger;
        _probe = new ReconnectProbe(engine, logger);
        foreach (var (name, target) in settings.ServerEdges)
        {
            _slots[name] = new EdgeSlot { Target = target };
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
        await _stopping.CancelAsync().ConfigureAwait(false);
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
        if (!_slots.TryGetValue(edgeName, out var slot))
        {
            throw new EdgeRefusedException(EdgeStatus.BadRequest, "no server edge named '" + edgeName + "'");
        }

        while (true)
        {
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

            if (!slot.EverConnected)
            {
                return await ConnectSlotAsync(edgeName, slot, cancellationToken).ConfigureAwait(false);
            }

            if (await ReconnectAsync(edgeName, slot, replacing: null).WaitAsync(cancellationToken).ConfigureAwait(false) is { } fresh)
            {
                return fresh;
            }
        }
    }

    /// <summary>
    /// A reload (SIGHUP): each named server edge's address and trust are replaced, for its next connect. A connection whose
    /// server edge's key is no longer pinned is closed (its channels resume on a connection the new trust accepts, or
    /// end with the grace); one still trusted keeps running. Returns how many were closed. Names cannot change (the
    /// listeners name them): a name not configured at start is ignored by the caller's check.
    /// </summary>
    public int Update(IReadOnlyDictionary<string, ServerEdgeTarget> targets)
    {
        int closed = 0;
        foreach (var (name, slot) in _slots)
        {
            if (!targets.TryGetValue(name, out var target))
            {
                continue;
            }

            slot.Target = target;
            slot.LastFailure = null; // the new address or trust may well reach it: the next channel tries
            if (slot.Connection is { } c && !c.Closed.IsCompleted && string.IsNullOrEmpty(target.Trust.CaBundlePem)
                && !target.Trust.PinnedSpkiSha256.Any(pin => c.PeerSpkiSha256.Span.SequenceEqual(pin)))
            {
                ClientEdgeLog.PinRemoved(_logger, name);
                // Disposed, not closed: a close finishes every stream (its channels would end); disposed, they fail
                // over and wait to resume, as when a reconnect replaces the connection.
                _ = c.DisposeAsync().AsTask();
                closed++;
            }
        }

        return closed;
    }

    private async ValueTask<ITransportConnection> ConnectSlotAsync(string edgeName, EdgeSlot slot, CancellationToken cancellationToken)
    {
        var target = slot.Target;
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

            Install(edgeName, slot, target, connection);
            return connection;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    /// <summary>Makes <paramref name="connection"/> the slot's (under its gate): watched, logged, counted.</summary>
    private void Install(string edgeName, EdgeSlot slot, ServerEdgeTarget target, ITransportConnection connection)
    {
        slot.LastFailure = null;
        slot.Watch?.Dispose();
        var watch = new LinkWatch(connection, TimeProvider.System);
        slot.Watch = watch;
        slot.EverConnected = true;
        slot.LastRtt = RttOf(connection) ?? slot.LastRtt;
        EdgeLog.ServerEdgeConnected(_logger, target.Name, connection.RemoteEndPoint);
        AccelMetrics.Track(connection, "client");
        AccelMetrics.ActiveConnections.Add(1, AccelMetrics.Tags("role", "client"));
        _ = WatchAsync(target.Name, connection);
        slot.Connection = connection;
        if (_settings.ResumeGrace > TimeSpan.Zero)
        {
            // Without resume, replacing the connection would end every session on it: QUIC's own recovery is better.
            _ = ReplaceWhenDownAsync(edgeName, slot, connection, watch);
        }
    }

    /// <summary>The slot's reconnect run (one at a time, shared by every caller): the new connection, or null when it gave up.</summary>
    private Task<ITransportConnection?> ReconnectAsync(string edgeName, EdgeSlot slot, ITransportConnection? replacing)
    {
        lock (slot)
        {
            if (slot.Reconnecting is { IsCompleted: false } running)
            {
                return running;
            }

            return slot.Reconnecting = ReconnectCoreAsync(edgeName, slot, slot.Target, replacing);
        }
    }

    private async Task<ITransportConnection?> ReconnectCoreAsync(string edgeName, EdgeSlot slot, ServerEdgeTarget target, ITransportConnection? replacing)
    {
        var options = _settings.ClientOptions(target);
        options = options with { HandshakeTimeout = ReconnectProbe.AttemptTimeout(slot.LastRtt, options.HandshakeTimeout) };
        var watch = slot.Watch;
        var attemptsWhileAnswering = 0;
        // Replacing a connection that answers again is pointless unless it answers only briefly: a few attempts more.
        // A reload that replaced the target ends this run: the callers' next run connects with the new address and trust.
        bool GoOn() => ReferenceEquals(slot.Target, target)
            && (replacing is null || replacing.Closed.IsCompleted || watch is not { IsDown: false } || ++attemptsWhileAnswering <= 3);
        var fresh = await _probe.RunAsync(options, target.Name, ReconnectProbe.AttemptSpacing(slot.LastRtt), GoOn, reason => slot.LastFailure = reason,
            _stopping.Token).ConfigureAwait(false);
        if (fresh is null)
        {
            return null;
        }

        ITransportConnection? old;
        await slot.Gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
        try
        {
            old = slot.Connection;
            Install(edgeName, slot, target, fresh);
        }
        finally
        {
            slot.Gate.Release();
        }

        if (old is not null)
        {
            if (!old.Closed.IsCompleted)
            {
                ReconnectLog.Replaced(_logger, target.Name);
            }

            // Closed here, its channels fail over at once; the server edge learns it from the CONNECTION_CLOSE.
            AccelMetrics.Untrack(old);
            await old.DisposeAsync().ConfigureAwait(false);
        }

        return fresh;
    }

    /// <summary>
    /// Once the connection's peer stops answering (<see cref="LinkWatch"/>), connects anew and moves every channel there
    /// (they resume) as soon as the link is back: the old connection's probe timeout has backed off during the outage,
    /// and at the server edge, whose sent data filled its congestion window, so has the one thing that would unblock it.
    /// </summary>
    private async Task ReplaceWhenDownAsync(string edgeName, EdgeSlot slot, ITransportConnection connection, LinkWatch watch)
    {
        try
        {
            while (!connection.Closed.IsCompleted)
            {
                var down = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using (watch.DownToken.Register(static s => ((TaskCompletionSource)s!).TrySetResult(), down))
                {
                    await Task.WhenAny(down.Task, connection.Closed).WaitAsync(_stopping.Token).ConfigureAwait(false);
                }

                if (connection.Closed.IsCompleted || !ReferenceEquals(slot.Connection, connection))
                {
                    return;
                }

                slot.LastRtt = RttOf(connection) ?? slot.LastRtt;
                ReconnectLog.Replacing(_logger, edgeName, Math.Round(watch.Silence.TotalSeconds, 1));
                if (await ReconnectAsync(edgeName, slot, connection).ConfigureAwait(false) is not null)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
    }

    private static TimeSpan? RttOf(ITransportConnection connection)
        => connection.Capabilities.HasFlag(TransportCapabilities.CongestionStatistics) ? connection.Statistics()?.GetStatistics().SmoothedRtt : null;

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

        /// <summary>Where and whom to connect (replaced by a reload; read at each connect).</summary>
        public required ServerEdgeTarget Target { get; set; }

        public ITransportConnection? Connection { get; set; }

        /// <summary>Whether the current connection's peer answers.</summary>
        public LinkWatch? Watch { get; set; }

        /// <summary>Why the last connect failed; null once one succeeds.</summary>
        public string? LastFailure { get; set; }

        /// <summary>A connection was made once: losing it now means reconnecting (<see cref="ReconnectProbe"/>).</summary>
        public bool EverConnected { get; set; }

        /// <summary>The smoothed RTT of the last connection, for the reconnect attempts' timeout.</summary>
        public TimeSpan? LastRtt { get; set; }

        /// <summary>The reconnect run in progress, if any.</summary>
        public Task<ITransportConnection?>? Reconnecting { get; set; }
    }
}
