using System.Text.Json.Serialization;

namespace Accel.Edge.Status;

/// <summary>The body of GET /status on the metrics listener, and what `spiceaccel status` prints.</summary>
internal sealed record StatusReport(
    string Role,
    string Version,
    string Commit,
    bool Ready,
    string? NotReadyReason,
    IReadOnlyList<PeerStatus> Peers,
    IReadOnlyList<SessionStatus> Sessions);

/// <summary>Another edge connected to this one.</summary>
internal sealed record PeerStatus(
    string Name,
    string Address,
    double? RttMs,
    long? PacketsLost,
    long PacketsSent,
    long BytesSent,
    long BytesReceived,
    double ConnectedSeconds);

/// <summary>The channels relayed between one peer and one backend (one SPICE session, or several to one backend).</summary>
internal sealed record SessionStatus(
    string Peer,
    string Backend,
    IReadOnlyList<string> Channels,
    double AgeSeconds,
    long BytesToServer,
    long BytesToClient);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(StatusReport))]
internal sealed partial class StatusJson : JsonSerializerContext;
