using System.Net.Sockets;
using Accel.Core.Relay;
using Accel.Edge.Listeners;
using Accel.Core.Transport;
using Accel.Edge.Options;
using Accel.Edge.Status;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Accel.Core.Edges;

namespace Accel.Edge.Hosting;

/// <summary>Runs the client edge: every configured listener, over one QUIC connection per server edge.</summary>
internal sealed partial class ClientEdgeService(IOptions<EdgeOptions> options, EdgeActivity activity, ILoggerFactory loggerFactory, ILogger<ClientEdgeService> logger) : BackgroundService
{
    /// <summary>The listeners running (or bound, before ExecuteAsync starts them); under <see cref="_gate"/>.</summary>
    private readonly List<RunningListener> _listeners = [];
    private readonly List<Task> _loops = [];
    private readonly Lock _gate = new();
    private CancellationToken _stopping;
    private ClientEdge? _edge;
    private volatile IReadOnlyDictionary<string, ServerEdgeTarget> _targets = new Dictionary<string, ServerEdgeTarget>();

    /// <summary>A listener of the configuration: its section (what a reload compares), the socket, and how to stop accepting.</summary>
    private sealed record RunningListener(string Config, SpiceListener Listener, Socket Socket, CancellationTokenSource Accepting);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var engine = new ObservedEngine(EngineFactory.Create(o.Transport.Engine, loggerFactory, o.Transport.EventLoops), activity);
        var identity = TransportOptionsFactory.LoadIdentity(o.Identity);
        Dictionary<string, ServerEdgeTarget> targets;
        try
        {
            targets = await TransportOptionsFactory.TargetsAsync(o.Client, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or IOException)
        {
            throw new EdgeStartException($"Client:ServerEdges: cannot resolve a server edge's address: {ex.Message}", ex);
        }

        _targets = targets;
        activity.NamePeer = PeerNames.ForServerEdges(targets);
        activity.NotReadyReason = () =>
        {
            var missing = _targets.Keys.Where(name => !activity.Peers.Any(p => p.PeerName == name)).ToList();
            return missing.Count == 0 ? null : "not connected to server edge " + string.Join(", ", missing);
        };
        _edge = new ClientEdge(engine, new ClientEdgeSettings
        {
            Identity = identity,
            ServerEdges = targets,
            ClientOptions = target => TransportOptionsFactory.Client(o, identity, target),
            LinkTimeout = o.Limits.LinkTimeout,
            Relay = SpiceRelaySettings.Default with { LinkTimeout = o.Limits.LinkTimeout, StallTimeout = o.Limits.StallTimeout, TcpKeepAlive = o.Limits.TcpKeepAlive },
            DisplayPreviews = o.Client.DisplayPreviews,
            InputDatagrams = o.Client.InputDatagrams,
            InputRedundancy = o.Client.InputRedundancy,
            WanCompression = o.Client.WanCompression,
            ResumeGrace = o.Limits.ResumeGrace,
        }, loggerFactory.CreateLogger<ClientEdge>());

        // Bind everything before reporting ready, so a port in use fails the start with a clear message.
        foreach (var l in o.Client.Listeners)
        {
            try
            {
                _listeners.Add(Bind(l, o));
            }
            catch (SocketException ex)
            {
                throw new EdgeStartException($"Client:Listeners:{_listeners.Count}:Listen: cannot listen on tcp {l.Listen}: {ex.SocketErrorCode}", ex);
            }
        }

        Started(logger, engine.Name, engine.Version, _listeners.Count, targets.Count);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A reload (SIGHUP): the server edges' addresses and pins, by the names configured at start (a name added or
    /// removed needs a restart: <see cref="ReloadOnHangup.NeedsRestart"/>), then the listeners. Returns how many
    /// connections were closed because their server edge's key is no longer pinned.
    /// </summary>
    public async Task<int> ReloadAsync(EdgeOptions reloaded, CancellationToken cancellationToken)
    {
        if (_edge is not { } edge)
        {
            return 0;
        }

        var targets = await TransportOptionsFactory.TargetsAsync(reloaded.Client, cancellationToken).ConfigureAwait(false);
        foreach (var name in _targets.Keys.Where(n => !targets.ContainsKey(n)))
        {
            targets[name] = _targets[name];
        }

        foreach (var name in targets.Keys.Where(n => !_targets.ContainsKey(n)).ToList())
        {
            targets.Remove(name);
        }

        _targets = targets;
        activity.NamePeer = PeerNames.ForServerEdges(targets);
        int closed = edge.UpdateServerEdges(targets);
        ReloadListeners(reloaded);
        return closed;
    }

    /// <summary>
    /// Listeners no longer configured stop accepting (their connections in service go on); new ones are bound and
    /// started. A listener that cannot bind is logged and left out; the others apply.
    /// </summary>
    private void ReloadListeners(EdgeOptions reloaded)
    {
        lock (_gate)
        {
            var wanted = reloaded.Client.Listeners.Select(l => (Section: l, Config: System.Text.Json.JsonSerializer.Serialize(l))).ToList();
            foreach (var gone in _listeners.Where(r => !wanted.Any(w => w.Config == r.Config)).ToList())
            {
                gone.Accepting.Cancel();
                gone.Socket.Dispose(); // now, so a listener that replaces it on the same address can bind
                _listeners.Remove(gone);
            }

            foreach (var (section, config) in wanted.Where(w => !_listeners.Any(r => r.Config == w.Config)))
            {
                try
                {
                    var added = Bind(section, reloaded);
                    _listeners.Add(added);
                    _loops.Add(added.Listener.RunAsync(added.Socket, _stopping, added.Accepting.Token));
                }
                catch (SocketException ex)
                {
                    ListenerNotAdded(logger, section.Listen, ex.SocketErrorCode.ToString());
                }
            }
        }
    }

    private RunningListener Bind(ListenerSection l, EdgeOptions o)
    {
        Endpoints.TryParseIpEndPoint(l.Listen, out var listen);
        SpiceListener listener = l.Mode switch
        {
            ListenerMode.Explicit => CreateExplicit(l, listen!),
            ListenerMode.Connect => new ConnectProxyListener(listen!, _edge!, l.ServerEdge, o.Limits.ConnectHeadTimeout, loggerFactory.CreateLogger<ConnectProxyListener>()),
            _ => new TransparentListener(listen!, _edge!, l.ServerEdge, loggerFactory.CreateLogger<TransparentListener>()),
        };
        return new RunningListener(System.Text.Json.JsonSerializer.Serialize(l), listener, listener.Bind(), new CancellationTokenSource());
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        lock (_gate)
        {
            _stopping = stoppingToken;
            _loops.AddRange(_listeners.Select(r => r.Listener.RunAsync(r.Socket, stoppingToken, r.Accepting.Token)));
            _loops.AddRange(options.Value.Client.ServerEdges.Keys.Select(name => KeepConnectedAsync(name, stoppingToken)));
        }

        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        try
        {
            Task[] loops;
            lock (_gate)
            {
                loops = [.. _loops];
            }

            await Task.WhenAll(loops).ConfigureAwait(false);
        }
        finally
        {
            if (_edge is not null)
            {
                await _edge.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Holds a connection to one server edge from the start, so the edge is ready (and the first session quick)
    /// before any viewer connects. Until the first connection, a failed connect is retried after a growing pause (1 s
    /// doubling to 30 s); after a loss the edge's own reconnect (ReconnectProbe, an attempt every 100–300 ms) brings it back.
    /// </summary>
    private async Task KeepConnectedAsync(string name, CancellationToken stoppingToken)
    {
        var pause = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var connection = await _edge!.ConnectAsync(name, stoppingToken).ConfigureAwait(false);
                var connectedAt = TimeProvider.System.GetTimestamp();
                await connection.Closed.WaitAsync(stoppingToken).ConfigureAwait(false);
                if (TimeProvider.System.GetElapsedTime(connectedAt) > TimeSpan.FromSeconds(30))
                {
                    // It held: reconnect at once. A connection that keeps closing right away backs off below.
                    pause = TimeSpan.FromSeconds(1);
                    continue;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is TransportException or EdgeRefusedException)
            {
                KeepFailed(logger, name, ex.Message, pause.TotalSeconds);
            }

            try
            {
                await Task.Delay(pause, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            pause = TimeSpan.FromSeconds(Math.Min(30, pause.TotalSeconds * 2));
        }
    }

    private ExplicitListener CreateExplicit(ListenerSection l, System.Net.IPEndPoint listen)
    {
        Endpoints.TryParseHostPort(l.Backend, out var host, out var port);
        return new ExplicitListener(listen, _edge!, l.ServerEdge, host!, port, loggerFactory.CreateLogger<ExplicitListener>());
    }

    [LoggerMessage(2103, LogLevel.Error, "Configuration reload: listener on tcp {Listen} not added: {Reason}")]
    private static partial void ListenerNotAdded(ILogger logger, string listen, string reason);

    [LoggerMessage(2102, LogLevel.Warning, "Server edge {Name} unreachable ({Reason}); trying again in {Seconds} s")]
    private static partial void KeepFailed(ILogger logger, string name, string reason, double seconds);

    [LoggerMessage(2101, LogLevel.Information, "Client edge started ({Engine}: {Version}); {Listeners} listeners, {Edges} server edges")]
    private static partial void Started(ILogger logger, string engine, string version, int listeners, int edges);
}
