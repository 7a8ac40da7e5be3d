using System.Net.Sockets;
using Accel.Core.Relay;
using Accel.Edge.Listeners;
using Accel.Edge.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Accel.Core.Edges;

namespace Accel.Edge.Hosting;

/// <summary>Runs the client edge: every configured listener, over one QUIC connection per server edge.</summary>
internal sealed partial class ClientEdgeService(IOptions<EdgeOptions> options, ILoggerFactory loggerFactory, ILogger<ClientEdgeService> logger) : BackgroundService
{
    private readonly List<(SpiceListener Listener, Socket Socket)> _bound = [];
    private ClientEdge? _edge;

    /// <summary>The listeners, bound once the service has started (tests read their ports).</summary>
    public IReadOnlyList<SpiceListener> Listeners => [.. _bound.Select(b => b.Listener)];

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var engine = EngineFactory.Create(o.Transport.Engine, loggerFactory);
        var identity = TransportOptionsFactory.LoadIdentity(o.Identity);
        var targets = await TransportOptionsFactory.TargetsAsync(o.Client, cancellationToken).ConfigureAwait(false);
        _edge = new ClientEdge(engine, new ClientEdgeSettings
        {
            Identity = identity,
            ServerEdges = targets,
            ClientOptions = target => TransportOptionsFactory.Client(o, identity, target),
        }, loggerFactory.CreateLogger<ClientEdge>());

        // Bind everything before reporting ready, so a port in use fails the start with a clear message.
        foreach (var l in o.Client.Listeners)
        {
            Endpoints.TryParseIpEndPoint(l.Listen, out var listen);
            SpiceListener listener = l.Mode switch
            {
                ListenerMode.Explicit => CreateExplicit(l, listen!),
                ListenerMode.Connect => new ConnectProxyListener(listen!, _edge, l.ServerEdge, loggerFactory.CreateLogger<ConnectProxyListener>()),
                _ => new TransparentListener(listen!, _edge, l.ServerEdge, loggerFactory.CreateLogger<TransparentListener>()),
            };
            try
            {
                _bound.Add((listener, listener.Bind()));
            }
            catch (SocketException ex)
            {
                throw new InvalidOperationException($"Client:Listeners: cannot listen on {l.Listen}: {ex.SocketErrorCode}", ex);
            }
        }

        Started(logger, engine.Name, engine.Version, _bound.Count, targets.Count);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var loops = _bound.Select(b => b.Listener.RunAsync(b.Socket, stoppingToken)).ToArray();
        try
        {
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

    private ExplicitListener CreateExplicit(ListenerSection l, System.Net.IPEndPoint listen)
    {
        Endpoints.TryParseHostPort(l.Backend, out var host, out var port);
        return new ExplicitListener(listen, _edge!, l.ServerEdge, host!, port, loggerFactory.CreateLogger<ExplicitListener>());
    }

    [LoggerMessage(2101, LogLevel.Information, "Client edge started ({Engine}: {Version}); {Listeners} listeners, {Edges} server edges")]
    private static partial void Started(ILogger logger, string engine, string version, int listeners, int edges);
}
