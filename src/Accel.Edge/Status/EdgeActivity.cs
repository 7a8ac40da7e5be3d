using System.Collections.Concurrent;
using Accel.Core.Diagnostics;
using Accel.Core.Transport;
using Accel.Edge.Hosting;
using Accel.Edge.Options;
using Microsoft.Extensions.Logging;

namespace Accel.Edge.Status;

/// <summary>
/// What one edge is doing now: its peers (the other edges, by the names the configuration gives them) with their
/// transport statistics, and its sessions (streams grouped by peer and backend). Readiness is decided by the edge
/// service that owns it. Read by /status, /ready and `spiceaccel status`.
/// </summary>
internal sealed partial class EdgeActivity(EdgeRole role, ILogger<EdgeActivity> logger)
{
    private readonly ConcurrentDictionary<ObservedConnection, byte> _connections = new();

    public EdgeRole Role { get; } = role;

    /// <summary>Names a peer by its authenticated key (and address); set by the edge service from its configuration.</summary>
    public Func<ITransportConnection, string> NamePeer { get; set; } = static c => Convert.ToBase64String(c.PeerSpkiSha256.Span);

    /// <summary>Why the edge is not ready, or null when it is. Starts as "starting".</summary>
    public Func<string?> NotReadyReason { get; set; } = static () => "starting";

    public IEnumerable<ObservedConnection> Peers => _connections.Keys.Where(static c => c.IsOpen);

    public ObservedConnection Add(ITransportConnection connection)
    {
        var observed = new ObservedConnection(connection, NamePeer(connection), this);
        _connections[observed] = 0;
        PeerConnected(logger, observed.PeerName, connection.RemoteEndPoint.ToString() ?? "?");
        _ = connection.Closed.ContinueWith(static (t, state) =>
        {
            var (activity, c) = ((EdgeActivity, ObservedConnection))state!;
            activity.Remove(c, t.IsCompletedSuccessfully ? t.Result.Message : "closed");
        }, (this, observed), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return observed;
    }

    public void Remove(ObservedConnection connection, string reason = "closed")
    {
        if (_connections.TryRemove(connection, out _))
        {
            PeerGone(logger, connection.PeerName, connection.RemoteEndPoint.ToString() ?? "?", reason);
        }
    }

    public StatusReport Snapshot()
    {
        var now = DateTime.UtcNow;
        var peers = new List<PeerStatus>();
        var sessions = new List<SessionStatus>();
        foreach (var c in Peers.OrderBy(static c => c.PeerName, StringComparer.Ordinal))
        {
            var s = c.StatisticsOrDefault();
            peers.Add(new PeerStatus(c.PeerName, c.RemoteEndPoint.ToString() ?? "?", s.SmoothedRtt?.TotalMilliseconds, s.PacketsLost,
                s.PacketsSent, s.BytesSent, s.BytesReceived, (now - c.Since).TotalSeconds));
            foreach (var group in c.Streams().Where(static s => s.Request is not null).GroupBy(static s => Backend(s.Request!.Value)))
            {
                var streams = group.ToList();
                sessions.Add(new SessionStatus(
                    c.PeerName,
                    group.Key,
                    [.. streams.Select(static s => AccelMetrics.ChannelLabel(s.Request!.Value.ChannelType)).Order(StringComparer.Ordinal)],
                    (now - streams.Min(static s => s.Since)).TotalSeconds,
                    streams.Sum(s => Role == EdgeRole.Client ? s.BytesWritten : s.BytesRead),
                    streams.Sum(s => Role == EdgeRole.Client ? s.BytesRead : s.BytesWritten)));
            }
        }

        var reason = NotReadyReason();
        return new StatusReport(EdgeCommandRole(Role), BuildInfo.Version, BuildInfo.Commit, reason is null, reason, peers, sessions);
    }

    private static string EdgeCommandRole(EdgeRole role) => role == EdgeRole.Server ? "server" : "client";

    private static string Backend(Core.Edges.EdgeRequest r)
        => r.Host.Contains(':', StringComparison.Ordinal) ? $"[{r.Host}]:{r.Port}" : $"{r.Host}:{r.Port}";

    [LoggerMessage(2301, LogLevel.Information, "Peer {Name} connected from {Address}")]
    private static partial void PeerConnected(ILogger logger, string name, string address);

    [LoggerMessage(2302, LogLevel.Information, "Peer {Name} at {Address} disconnected: {Reason}")]
    private static partial void PeerGone(ILogger logger, string name, string address, string reason);
}
