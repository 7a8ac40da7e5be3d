using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Accel.Core.Transport;

namespace Accel.Core.Diagnostics;

/// <summary>
/// Every instrument SpiceAccel publishes, on the meter <see cref="MeterName"/>. Labels are bounded sets only:
/// channel type, direction, stream urgency, reason/kind enums, and the peer edge's configured name (one per
/// authenticated peer, <see cref="IPeerNamed"/>) — never a session id or an address.
/// </summary>
public static class AccelMetrics
{
    public const string MeterName = "SpiceAccel";

    private static readonly Meter s_meter = new(MeterName, "1.0");
    /// <summary>Peers whose closed connections' totals are kept apart; beyond, they are summed under <see cref="OtherPeers"/>.</summary>
    private const int MaxRetiredPeers = 4096;
    private const string OtherPeers = "(other)";

    private static readonly ConcurrentDictionary<ITransportConnection, (string Role, string Peer)> s_connections = new();
    private static readonly ConcurrentDictionary<ITransportStream, byte> s_streams = new();
    private static readonly Dictionary<(string Role, string Peer), (long Lost, long Sent)> s_retired = [];

    /// <summary>The one meter: instruments declared elsewhere (display budget, canvas) are created on it too.</summary>
    internal static Meter Meter => s_meter;

    public static readonly Counter<long> RelayBytes = s_meter.CreateCounter<long>(
        "spiceaccel.relay.bytes", "By", "Bytes relayed, by SPICE channel type and direction (to_server, to_client)");

    public static readonly Counter<long> RelayMessages = s_meter.CreateCounter<long>(
        "spiceaccel.relay.messages", "{message}", "SPICE messages relayed, by channel type and direction");

    public static readonly UpDownCounter<long> ActiveChannels = s_meter.CreateUpDownCounter<long>(
        "spiceaccel.channels.active", "{channel}", "SPICE channel connections currently relayed, by channel type");

    public static readonly UpDownCounter<long> ActiveConnections = s_meter.CreateUpDownCounter<long>(
        "spiceaccel.edge.connections.active", "{connection}", "QUIC connections between edges, by role");

    public static readonly Counter<long> EdgeMigrations = s_meter.CreateCounter<long>(
        "spiceaccel.edge.migrations", "{migration}", "Client edge connections moved to a new local address, by result (started, validated, failed)");

    public static readonly Counter<long> Refusals = s_meter.CreateCounter<long>(
        "spiceaccel.refusals", "{refusal}", "Channels refused, by reason");

    public static readonly Counter<long> Errors = s_meter.CreateCounter<long>(
        "spiceaccel.errors", "{error}", "Channel and connection failures, by kind");

    public static readonly Counter<long> LocalAcks = s_meter.CreateCounter<long>(
        "spiceaccel.acks.local", "{message}", "ACK/motion-ack messages answered locally instead of across the WAN, by kind");

    public static readonly Counter<long> DisplayImages = s_meter.CreateCounter<long>(
        "spiceaccel.display.images", "{image}", "Display images re-encoded at the server edge, by output codec (kept = the original was smaller)");

    public static readonly Counter<long> DisplayBytesIn = s_meter.CreateCounter<long>(
        "spiceaccel.display.bytes_in", "By", "Image payload bytes received from the server for images the server edge re-encoded, by output codec");

    public static readonly Counter<long> DisplayBytesOut = s_meter.CreateCounter<long>(
        "spiceaccel.display.bytes_out", "By", "Image payload bytes sent instead, by output codec");

    static AccelMetrics()
    {
        s_meter.CreateObservableGauge("spiceaccel.quic.rtt.smoothed", ObserveRtt, "s", "Smoothed RTT of the connection to each peer edge, by role and peer");
        s_meter.CreateObservableGauge("spiceaccel.quic.cwnd", ObserveCwnd, "By", "Congestion window, by role and peer");
        s_meter.CreateObservableGauge("spiceaccel.quic.in_flight", ObserveInFlight, "By", "Bytes in flight, by role and peer");
        s_meter.CreateObservableGauge("spiceaccel.queue", ObserveQueues, "By", "Bytes written to edge streams and not yet acknowledged by the peer, by stream urgency (0 most urgent; channel classes in docs/architecture.md)");
        s_meter.CreateObservableCounter("spiceaccel.quic.packets_lost", ObserveLost, "{packet}", "Packets lost (where the engine knows), by role and peer");
        s_meter.CreateObservableCounter("spiceaccel.quic.sent", ObserveSent, "By", "Bytes sent on edge connections, by role and peer");
    }

    /// <summary>
    /// Publishes a connection's statistics until it is removed. Role is "client" or "server"; the peer label is the
    /// name the edge's configuration gives the other edge (<see cref="IPeerNamed"/>), else a prefix of its key's pin.
    /// </summary>
    public static void Track(ITransportConnection connection, string role) => s_connections[connection] = (role, PeerLabel(connection));

    /// <summary>The peer label of <paramref name="connection"/>: its configured name, else "pin:" and the first 12 characters of its pin.</summary>
    public static string PeerLabel(ITransportConnection connection) => connection is IPeerNamed named ? named.PeerName
        : connection.PeerSpkiSha256.IsEmpty ? "?" : "pin:" + Convert.ToBase64String(connection.PeerSpkiSha256.Span)[..12];

    /// <summary>
    /// Stops publishing a connection. Its final packets-lost and bytes-sent are kept in its peer's totals, so the
    /// counters summed over connections never go down when one closes.
    /// </summary>
    public static void Untrack(ITransportConnection connection)
    {
        if (s_connections.TryRemove(connection, out var key))
        {
            ConnectionStatistics stats;
            try
            {
                stats = connection.StatisticsOrDefault();
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            lock (s_retired)
            {
                if (!s_retired.ContainsKey(key) && s_retired.Count >= MaxRetiredPeers)
                {
                    key = (key.Role, OtherPeers);
                }

                var (lost, sent) = s_retired.GetValueOrDefault(key);
                s_retired[key] = (lost + (stats.PacketsLost ?? 0), sent + stats.BytesSent);
            }
        }
    }

    private static readonly string[] UrgencyLabels = ["0", "1", "2", "3", "4", "5", "6", "7"];

    /// <summary>Counts a relayed stream's unacknowledged bytes in the per-urgency queue gauge until it is removed.</summary>
    public static void Track(ITransportStream stream) => s_streams[stream] = 0;

    public static void Untrack(ITransportStream stream) => s_streams.TryRemove(stream, out _);

    private static IEnumerable<Measurement<long>> ObserveQueues()
    {
        Span<long> perUrgency = stackalloc long[StreamUrgency.Levels];
        foreach (var (stream, _) in s_streams)
        {
            perUrgency[stream.Urgency] += stream.UnacknowledgedBytes;
        }

        var result = new Measurement<long>[perUrgency.Length];
        for (var i = 0; i < perUrgency.Length; i++)
        {
            result[i] = new Measurement<long>(perUrgency[i], new KeyValuePair<string, object?>("urgency", UrgencyLabels[i]));
        }

        return result;
    }

    /// <summary>One RTT per peer: the largest where a peer has two connections for a moment (a resume).</summary>
    private static IEnumerable<Measurement<double>> ObserveRtt()
    {
        var perPeer = new Dictionary<(string Role, string Peer), double>();
        foreach (var (c, key) in s_connections)
        {
            if (c.StatisticsOrDefault().SmoothedRtt is { } rtt)
            {
                perPeer[key] = Math.Max(perPeer.GetValueOrDefault(key), rtt.TotalSeconds);
            }
        }

        foreach (var (key, rtt) in perPeer)
        {
            yield return new Measurement<double>(rtt, PeerTags(key));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveCwnd() => ObserveLong(static s => s.CongestionWindow);

    private static IEnumerable<Measurement<long>> ObserveInFlight() => ObserveLong(static s => s.BytesInFlight);

    private static IEnumerable<Measurement<long>> ObserveLost() => ObserveLong(static s => s.PacketsLost, static r => r.Lost);

    private static IEnumerable<Measurement<long>> ObserveSent() => ObserveLong(static s => s.BytesSent, static r => r.Sent);

    private static IEnumerable<Measurement<long>> ObserveLong(Func<ConnectionStatistics, long?> pick, Func<(long Lost, long Sent), long>? retired = null)
    {
        var totals = new Dictionary<(string Role, string Peer), long>();
        if (retired is not null)
        {
            lock (s_retired)
            {
                foreach (var (key, r) in s_retired)
                {
                    totals[key] = retired(r);
                }
            }
        }

        foreach (var (c, key) in s_connections)
        {
            if (pick(c.StatisticsOrDefault()) is { } v)
            {
                totals[key] = totals.GetValueOrDefault(key) + v;
            }
        }

        foreach (var (key, v) in totals)
        {
            yield return new Measurement<long>(v, PeerTags(key));
        }
    }

    private static KeyValuePair<string, object?>[] PeerTags((string Role, string Peer) key) =>
        [new KeyValuePair<string, object?>("role", key.Role), new KeyValuePair<string, object?>("peer", key.Peer)];

    /// <summary>The metric label of a SPICE channel type byte (the one mapping is <c>SpiceChannelType.ToLabel</c>).</summary>
    public static string ChannelLabel(byte channelType) => Spice.Protocol.SpiceChannelTypeExtensions.ToLabel((Spice.Protocol.SpiceChannelType)channelType);

    internal static TagList Tags(string key, object? value)
    {
        var t = default(TagList);
        t.Add(key, value);
        return t;
    }

    internal static TagList Tags(string key1, object? value1, string key2, object? value2)
    {
        var t = default(TagList);
        t.Add(key1, value1);
        t.Add(key2, value2);
        return t;
    }
}
