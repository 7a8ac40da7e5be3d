using Accel.Core.Relay;
using Accel.Core.Transport;
using Accel.Edge.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Accel.Edge.Hosting;

/// <summary>Runs the server edge: the QUIC listener and the relay to allowed backends.</summary>
internal sealed partial class ServerEdgeService(IOptions<EdgeOptions> options, ILoggerFactory loggerFactory, ILogger<ServerEdgeService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var engine = EngineFactory.Create(o.Transport.Engine, loggerFactory);
        var identity = TransportOptionsFactory.LoadIdentity(o.Identity);
        var listener = await engine.ListenAsync(TransportOptionsFactory.Listener(o, identity), stoppingToken).ConfigureAwait(false);
        await using (listener.ConfigureAwait(false))
        {
            Listening(logger, listener.LocalEndPoint.ToString(), engine.Name, engine.Version, o.Server.AllowedBackends.Count);
            var edge = new ServerEdge(listener, new ServerEdgeSettings
            {
                AllowList = new AllowList(o.Server.AllowedBackends),
                BackendConnectTimeout = o.Server.BackendConnectTimeout,
            }, loggerFactory.CreateLogger<ServerEdge>());
            await edge.RunAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(2001, LogLevel.Information, "Server edge listening on udp {Listen} ({Engine}: {Version}); {Rules} allow-list entries")]
    private static partial void Listening(ILogger logger, string listen, string engine, string version, int rules);
}
