using Accel.Core.Relay;
using Accel.Core.Spice.Display;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;
using Accel.Edge.Options;
using Accel.Edge.Status;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Accel.Core.Edges;

namespace Accel.Edge.Hosting;

/// <summary>Runs the server edge: the QUIC listener and the relay to allowed backends.</summary>
internal sealed partial class ServerEdgeService(IOptions<EdgeOptions> options, EdgeActivity activity, ILoggerFactory loggerFactory, ILogger<ServerEdgeService> logger) : BackgroundService
{
    private ITransportListener? _listener;
    private ReloadablePins? _clientPins;
    private ServerEdge? _edge;

    /// <summary>The bound QUIC address, once started.</summary>
    public System.Net.IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Bind before the host reports ready (sd_notify READY=1), so "started" means "reachable".
        var o = options.Value;
        var engine = new ObservedEngine(EngineFactory.Create(o.Transport.Engine, loggerFactory, o.Transport.EventLoops), activity);
        var identity = TransportOptionsFactory.LoadIdentity(o.Identity);
        activity.NamePeer = PeerNames.ForClientPins(o.Server.ClientPins);
        try
        {
            _clientPins = new ReloadablePins(TransportOptionsFactory.ParsePins(o.Server.ClientPins.Values));
            _listener = await engine.ListenAsync(TransportOptionsFactory.Listener(o, identity, _clientPins), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TransportException or System.Net.Sockets.SocketException)
        {
            throw new EdgeStartException($"Server:Listen: cannot listen on udp {o.Server.Listen}: {ex.Message}", ex);
        }

        activity.NotReadyReason = static () => null;
        Listening(logger, _listener.LocalEndPoint.ToString(), engine.Name, engine.Version, o.Server.AllowedBackends.Count);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var listener = _listener!;
        await using (listener.ConfigureAwait(false))
        {
            var edge = new ServerEdge(listener, Settings(o), loggerFactory.CreateLogger<ServerEdge>());
            _edge = edge;
            await edge.RunAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies a reloaded, validated configuration: client pins (new handshakes; connected peers whose pin is gone
    /// are disconnected), and the allow-list, upstream proxy, TLS backends, timeouts and display codec for channels
    /// opened from now on. Returns how many peers were disconnected.
    /// </summary>
    public int Reload(EdgeOptions reloaded)
    {
        if (_clientPins is not { } pins || _edge is not { } edge)
        {
            return 0;
        }

        var server = reloaded.Server;
        activity.NamePeer = PeerNames.ForClientPins(server.ClientPins);
        pins.Replace(TransportOptionsFactory.ParsePins(server.ClientPins.Values));
        edge.Update(Settings(reloaded));

        // A peer admitted by the CA bundle stays; one admitted by a pin needs the pin still to be there.
        var byCa = !string.IsNullOrEmpty(server.ClientCaFile);
        return byCa ? 0 : edge.DisconnectPeers(pin => pins.Contains(pin.Span), "its pin is no longer in Server:ClientPins");
    }

    private static ServerEdgeSettings Settings(EdgeOptions o) => new()
    {
        AllowList = new AllowList(o.Server.AllowedBackends),
        BackendConnectTimeout = o.Server.BackendConnectTimeout,
        RequestTimeout = o.Limits.RequestTimeout,
        MaxChannelsPerConnection = o.Limits.MaxChannelsPerConnection,
        MaxChannelsPerSession = o.Limits.MaxChannelsPerSession,
        ResumeGrace = o.Limits.ResumeGrace,
        MaxConnectionsPerPeer = o.Limits.MaxConnectionsPerPeer,
        Relay = RelaySettings(o.Server) with { LinkTimeout = o.Limits.LinkTimeout, StallTimeout = o.Limits.StallTimeout, TcpKeepAlive = o.Limits.TcpKeepAlive },
        TlsBackends = [.. o.Server.TlsBackends.Select(t => new TlsBackend(new AllowList([t.Match]), TransportOptionsFactory.Trust(t.Pins, t.CaFile), t.ServerName))],
        UpstreamProxy = Upstream(o.Server.UpstreamProxy),
        InputDatagrams = o.Server.InputDatagrams,
        WanCompression = o.Server.WanCompression,
    };

    /// <summary>The upstream CONNECT proxy, if configured (the validator has checked the address).</summary>
    internal static UpstreamProxy? Upstream(UpstreamProxySection section) =>
        Endpoints.TryParseIpEndPoint(section.Address, out var address) ? new UpstreamProxy(address, new AllowList(section.Backends)) : null;

    /// <summary>The relay settings the server edge's options ask for (the validator has checked DisplayCodec).</summary>
    internal static SpiceRelaySettings RelaySettings(ServerSection server) => SpiceRelaySettings.Default with
    {
        DisplayCodec = DisplayCodecs.TryParse(server.DisplayCodec, out var codec) ? codec : DisplayCodec.Off,
        DisplayBudget = SpiceRelaySettings.Default.DisplayBudget with { Enabled = server.DisplayBudget.Enabled },
        DisplayCanvas = server.DisplayCanvas,
        DisplayCanvasLossy = server.DisplayCanvasLossy,
    };

    [LoggerMessage(2001, LogLevel.Information, "Server edge listening on udp {Listen} ({Engine}: {Version}); {Rules} allow-list entries")]
    private static partial void Listening(ILogger logger, string listen, string engine, string version, int rules);
}
