using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;
using Microsoft.Extensions.Logging;
using Accel.Core.Edges;

namespace Accel.Edge.Listeners;

/// <summary>
/// A local port mapped to one backend behind a server edge. When the backend tells the client to migrate to another
/// SPICE server, the destination is rewritten to a port of this edge opened for it (<see cref="MigrationPorts"/>), so
/// the client stays behind the edges.
/// </summary>
internal sealed class ExplicitListener : SpiceListener
{
    private readonly string _backendHost;
    private readonly ushort _backendPort;
    private readonly MigrationPorts _migrations;

    public ExplicitListener(IPEndPoint listen, ClientEdge edge, string serverEdge, string backendHost, ushort backendPort, ILogger logger, MigrationPorts? migrations = null)
        : base(listen, edge, serverEdge, logger)
    {
        _backendHost = backendHost;
        _backendPort = backendPort;
        _migrations = migrations ?? new MigrationPorts(edge, serverEdge, logger);
    }

    protected override string Mode => "explicit";

    protected override Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        var reached = ((IPEndPoint)client.LocalEndPoint!).Address;
        return Edge.HandleAsync(client, ServerEdge, _backendHost, _backendPort, cancellationToken, (host, port) => _migrations.Redirect(host, port, reached, cancellationToken));
    }
}

/// <summary>
/// Ports opened on demand for migration destinations: each leads to one new backend through the same server edge.
/// Bounded in number; each closes with the edge or after <see cref="Lifetime"/>.
/// </summary>
internal sealed partial class MigrationPorts(ClientEdge edge, string serverEdge, ILogger logger)
{
    public const int MaxPorts = 16;
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(30);

    private readonly ConcurrentDictionary<(string Host, ushort Port), IPEndPoint> _open = new();

    public (string Host, ushort Port)? Redirect(string host, ushort port, IPAddress reached, CancellationToken stopping)
    {
        if (_open.TryGetValue((host, port), out var existing))
        {
            return (existing.Address.ToString(), (ushort)existing.Port);
        }

        if (_open.Count >= MaxPorts)
        {
            TooMany(logger, host, port);
            return null;
        }

        var listener = new ExplicitListener(new IPEndPoint(reached, 0), edge, serverEdge, host, port, logger, this);
        Socket socket;
        try
        {
            socket = listener.Bind();
        }
        catch (SocketException ex)
        {
            BindFailed(logger, host, port, ex.SocketErrorCode.ToString());
            return null;
        }

        var local = listener.LocalEndPoint!;
        _open[(host, port)] = local;
        _ = RunAsync(listener, socket, (host, port), stopping);
        return (local.Address.ToString(), (ushort)local.Port);
    }

    private async Task RunAsync(ExplicitListener listener, Socket socket, (string, ushort) key, CancellationToken stopping)
    {
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        lifetime.CancelAfter(Lifetime);
        try
        {
            await listener.RunAsync(socket, lifetime.Token).ConfigureAwait(false);
        }
        finally
        {
            _open.TryRemove(key, out _);
        }
    }

    [LoggerMessage(3301, LogLevel.Warning, "Migration to {Host}:{Port}: already {Max} migration ports open; destination passed unchanged", SkipEnabledCheck = false)]
    private static partial void TooManyCore(ILogger logger, string host, int port, int max);

    private static void TooMany(ILogger logger, string host, int port) => TooManyCore(logger, host, port, MaxPorts);

    [LoggerMessage(3302, LogLevel.Warning, "Migration to {Host}:{Port}: cannot open a local port ({Reason}); destination passed unchanged")]
    private static partial void BindFailed(ILogger logger, string host, int port, string reason);
}
