using Accel.Core.Relay;
using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>
/// A SPICE backend reached on its TLS port: the server edge is the TLS client, and checks the backend's
/// certificate against pins or a CA bundle (as remote-viewer would with the .vv file's ca=).
/// </summary>
public sealed record TlsBackend(AllowList Match, PeerTrust Trust, string? ServerName = null);

/// <summary>Server-edge settings, a snapshot built by the host from validated options.</summary>
public sealed record ServerEdgeSettings
{
    public required AllowList AllowList { get; init; }
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan BackendConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Channels relayed at once per edge connection; more are refused (Unavailable) with the reason.</summary>
    public int MaxChannelsPerConnection { get; init; } = 512;
    /// <summary>Channels relayed at once per edge connection to one backend host:port (one SPICE session's channels).</summary>
    public int MaxChannelsPerSession { get; init; } = 64;
    /// <summary>Edge connections at once per authenticated peer; one more is closed at once (Refused).</summary>
    public int MaxConnectionsPerPeer { get; init; } = 4;
    /// <summary>Message-aware relay settings.</summary>
    public SpiceRelaySettings Relay { get; init; } = SpiceRelaySettings.Default;
    /// <summary>Backends to reach with TLS (the first match wins); others are plain TCP.</summary>
    public IReadOnlyList<TlsBackend> TlsBackends { get; init; } = [];
    /// <summary>The HTTP CONNECT proxy in front of the backends (Proxmox's spiceproxy); null: backends are reached directly and opaque targets refused.</summary>
    public UpstreamProxy? UpstreamProxy { get; init; }
    /// <summary>How long a channel whose edge connection was lost waits to be resumed (zero: channels end with the connection).</summary>
    public TimeSpan ResumeGrace { get; init; } = TimeSpan.FromSeconds(120);
    /// <summary>
    /// Take pointer datagrams and input copies (<see cref="EdgeRequest.InputDatagramsFlag"/>); when false, that flag is
    /// refused as an older server edge refuses it, and client edges fall back to the stream.
    /// </summary>
    public bool InputDatagrams { get; init; } = true;

    /// <summary>
    /// Compress what this edge sends on channels whose client edge asked for <see cref="EdgeRequest.CompressedFlag"/>
    /// (false: stored blocks; what the client edge compressed is read either way).
    /// </summary>
    public bool WanCompression { get; init; } = true;
}
