using Accel.Core.Relay;
using Accel.Core.Spice.Display;
using Accel.Core.Transport;
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

    /// <summary>The bound QUIC address, once started.</summary>
    public System.Net.IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Bind before the host reports ready (sd_notify READY=1), so "started" means "reachable".
        var o = options.Value;
        var engine = new ObservedEngine(EngineFactory.Create(o.Transport.Engine, loggerFactory), activity);
        var identity = TransportOptionsFactory.LoadIdentity(o.Identity);
        activity.NamePeer = PeerNames.ForClientPins(o.Server.ClientPins);
        try
        {
            _listener = await engine.ListenAsync(TransportOptionsFactory.Listener(o, identity), cancellationToken).ConfigureAwait(false);
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
            var edge = new ServerEdge(listener, new ServerEdgeSettings
            {
                AllowList = new AllowList(o.Server.AllowedBackends),
                BackendConnectTimeout = o.Server.BackendConnectTimeout,
                Relay = RelaySettings(o.Server),
                TlsBackends = [.. o.Server.TlsBackends.Select(t => new TlsBackend(new AllowList([t.Match]), TransportOptionsFactory.Trust(t.Pins, t.CaFile), t.ServerName))],
            }, loggerFactory.CreateLogger<ServerEdge>());
            await edge.RunAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>The relay settings the server edge's options ask for (the validator has checked DisplayCodec).</summary>
    internal static SpiceRelaySettings RelaySettings(ServerSection server) =>
        SpiceRelaySettings.Default with
        {
            DisplayCodec = DisplayCodecs.TryParse(server.DisplayCodec, out var codec) ? codec : DisplayCodec.Off,
            DisplayCanvas = server.DisplayCanvas,
        };

    [LoggerMessage(2001, LogLevel.Information, "Server edge listening on udp {Listen} ({Engine}: {Version}); {Rules} allow-list entries")]
    private static partial void Listening(ILogger logger, string listen, string engine, string version, int rules);
}
