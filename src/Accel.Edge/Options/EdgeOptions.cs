using System.ComponentModel.DataAnnotations;
using Accel.Core.Edges;

namespace Accel.Edge.Options;

/// <summary>The whole configuration of one edge (either role). Bound from JSON, environment and command line.</summary>
public sealed class EdgeOptions
{
    public TransportSection Transport { get; set; } = new();

    public IdentitySection Identity { get; set; } = new();

    public ServerSection Server { get; set; } = new();

    public ClientSection Client { get; set; } = new();

    public MetricsSection Metrics { get; set; } = new();

    public LimitsSection Limits { get; set; } = new();
}

/// <summary>
/// What one peer, connection, channel or local reader may hold, and for how long (docs/configuration.md, "Limits").
/// Channel and connection counts apply at the server edge; deadlines and TCP settings at both.
/// </summary>
public sealed class LimitsSection
{
    /// <summary>Server edge: channels relayed at once per client-edge connection.</summary>
    [Range(1, 65536)]
    public int MaxChannelsPerConnection { get; set; } = 512;

    /// <summary>Server edge: channels relayed at once per client-edge connection to one backend host:port (one SPICE session).</summary>
    [Range(1, 4096)]
    public int MaxChannelsPerSession { get; set; } = 64;

    /// <summary>Server edge: connections at once per client edge (per key pin).</summary>
    [Range(1, 1024)]
    public int MaxConnectionsPerPeer { get; set; } = 4;

    /// <summary>Server edge: the edge request that opens each stream must arrive within this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Both: the client's first link message (client edge), and the whole SPICE link phase (both edges).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan LinkTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Client edge: the HTTP CONNECT request head must arrive within this.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan ConnectHeadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Both: a local TCP reader that takes no data for this long closes its own channel (also TCP_USER_TIMEOUT).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Both: how long a channel whose edge connection was lost keeps its SPICE legs and unacknowledged bytes, waiting to be resumed on a new connection (zero: channels end with the connection).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ResumeGrace { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Both: idle time before TCP keep-alive probes on local legs (every 10 s after, 3 unanswered close the leg).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "02:00:00")]
    public TimeSpan TcpKeepAlive { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class TransportSection
{
    /// <summary>auto | ngtcp2 | msquic. auto picks msquic where libmsquic exists, else ngtcp2.</summary>
    public string Engine { get; set; } = "auto";

    /// <summary>bbr | cubic | reno (ngtcp2 only; msquic uses its own default).</summary>
    public string CongestionControl { get; set; } = "bbr";

    /// <summary>ngtcp2: event-loop threads serving every edge connection (default one per core); msquic runs its own.</summary>
    [Range(1, 64, ErrorMessage = "must be 1 to 64 event-loop threads (default: one per core)")]
    public int EventLoops { get; set; } = Math.Clamp(Environment.ProcessorCount, 1, 64);

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(30);

    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Initial per-stream receive window in bytes.</summary>
    [Range(16 * 1024, 256L * 1024 * 1024)]
    public long StreamReceiveWindow { get; set; } = 4 * 1024 * 1024;

    /// <summary>Initial connection receive window in bytes (a reader that stops holds up to its stream window of it).</summary>
    [Range(64 * 1024, 1024L * 1024 * 1024)]
    public long ConnectionReceiveWindow { get; set; } = 64 * 1024 * 1024;
}

public sealed class IdentitySection
{
    /// <summary>PEM certificate of this edge (make one with `spiceaccel keygen`).</summary>
    public string CertificateFile { get; set; } = string.Empty;

    /// <summary>PEM private key of this edge.</summary>
    public string KeyFile { get; set; } = string.Empty;
}

public sealed class ServerSection
{
    /// <summary>UDP address the server edge listens on for client edges, e.g. 0.0.0.0:4433.</summary>
    public string Listen { get; set; } = "0.0.0.0:4433";

    /// <summary>
    /// The client edges allowed in, by name: name → base64 SHA-256 of the SubjectPublicKeyInfo (`spiceaccel pin`).
    /// The older list form ([ "pin", ... ]) still works; its entries are named by their index.
    /// </summary>
    public Dictionary<string, string> ClientPins { get; set; } = new(StringComparer.Ordinal);

    /// <summary>PEM bundle of CAs whose client certificates are allowed in (alternative to pins).</summary>
    public string? ClientCaFile { get; set; }

    /// <summary>Backends the server edge may connect to: CIDR:port or CIDR:low-high.</summary>
    public List<string> AllowedBackends { get; set; } = [];

    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan BackendConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Re-encoding of display images toward the client edge: off, auto, quic, lz, glz, lz4 or jpeg.</summary>
    public string DisplayCodec { get; set; } = "off";

    /// <summary>
    /// Keep a canvas of the client's picture (display channel 0; default on): drain spice-server at LAN speed, absorb
    /// draws while the display budget is exceeded and refresh their area from the canvas (docs/display-path.md).
    /// <c>false</c>: the display budget paces spice-server's ACKs instead.
    /// </summary>
    public bool DisplayCanvas { get; set; } = true;

    /// <summary>
    /// With <see cref="DisplayCanvas"/>: photo-like areas that would hold the link longer than 50 ms losslessly are sent
    /// as JPEG at a quality chosen from the measured delivery rate, then again losslessly once they have settled.
    /// </summary>
    public bool DisplayCanvasLossy { get; set; } = true;

    /// <summary>Take pointer datagrams and input copies from client edges (docs/input-path.md); false refuses them as an older server edge does.</summary>
    public bool InputDatagrams { get; set; } = true;

    /// <summary>
    /// LZ4 on what this edge sends on channels whose client edge asks for it (main, audio, smartcard, usbredir, port,
    /// webdav; docs/configuration.md); false sends those bytes stored (what client edges compressed is read either way).
    /// </summary>
    public bool WanCompression { get; set; } = true;

    /// <summary>Backends on SPICE's TLS port: the server edge speaks TLS to them (first match wins).</summary>
    public List<TlsBackendSection> TlsBackends { get; set; } = [];

    /// <summary>An HTTP CONNECT proxy in front of the backends (Proxmox VE's spiceproxy); unset: backends are reached directly.</summary>
    public UpstreamProxySection UpstreamProxy { get; set; } = new();

    /// <summary>Pacing of spice-server's display ACKs by the display budget.</summary>
    public DisplayBudgetSection DisplayBudget { get; set; } = new();

    /// <summary>How the QUIC listener admits new client edges under a handshake flood (ngtcp2 engine).</summary>
    public HandshakesSection Handshakes { get; set; } = new();
}

/// <summary>Admission of new QUIC handshakes at the server edge (docs/configuration.md, "Under a handshake flood").</summary>
public sealed class HandshakesSection
{
    /// <summary>Handshakes in progress at once; Initial packets past it are dropped (counted, logged every 10 s).</summary>
    [Range(1, 65536)]
    public int MaxHalfOpen { get; set; } = 256;

    /// <summary>off | always | automatic: when a new client's first Initial is answered with a stateless Retry.</summary>
    public string Retry { get; set; } = "automatic";

    /// <summary>automatic: Retry above this many new clients' Initials per second.</summary>
    [Range(1, 1_000_000)]
    public int RetryAbovePerSecond { get; set; } = 32;

    /// <summary>automatic: Retry while this many handshakes (or more) are in progress.</summary>
    [Range(0, 65536)]
    public int RetryAboveHalfOpen { get; set; } = 32;
}

public sealed class UpstreamProxySection
{
    /// <summary>
    /// IP:port of the proxy, e.g. 127.0.0.1:3128 for the spiceproxy of the Proxmox node the server edge runs on. It must
    /// be in AllowedBackends. Opaque CONNECT targets (pvespiceproxy:…) are forwarded to it verbatim; empty refuses them.
    /// </summary>
    public string Address { get; set; } = string.Empty;

    /// <summary>host:port backends (CIDR:port or CIDR:low-high, also in AllowedBackends) reached through the proxy instead of directly.</summary>
    public List<string> Backends { get; set; } = [];
}

public sealed class DisplayBudgetSection
{
    /// <summary>False: spice-server's display ACKs are answered at once, unpaced (the behaviour before the budget; for comparison only).</summary>
    public bool Enabled { get; set; } = true;
}

public sealed class TlsBackendSection
{
    /// <summary>Which backends: CIDR:port or CIDR:low-high, as in AllowedBackends.</summary>
    public string Match { get; set; } = string.Empty;

    /// <summary>PEM CA bundle that signed the SPICE server's certificate (QEMU's ca-cert.pem, Proxmox's pve-root-ca.pem).</summary>
    public string? CaFile { get; set; }

    /// <summary>Base64 SHA-256 SPKI pins of the SPICE server's certificate (alternative to CaFile).</summary>
    public List<string> Pins { get; set; } = [];

    /// <summary>TLS server name to send; defaults to the backend host asked for.</summary>
    public string? ServerName { get; set; }
}

public sealed class ClientSection
{
    /// <summary>Server edges by name.</summary>
    public Dictionary<string, ServerEdgeSection> ServerEdges { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Ways in for remote-viewer.</summary>
    public List<ListenerSection> Listeners { get; set; } = [];

    /// <summary>
    /// Ask server edges for display previews (small updates such as key echoes also sent as datagrams that overtake the
    /// display queue). Needs server edges of the same version or later; false for older ones.
    /// </summary>
    public bool DisplayPreviews { get; set; } = true;

    /// <summary>
    /// Send the pointer of inputs channels as QUIC datagrams (latest wins; keys and buttons stay on the stream, each
    /// after the position it belongs to) where the engine has datagrams (ngtcp2) and the server edge takes them; an
    /// older server edge is detected and served without (docs/input-path.md).
    /// </summary>
    public bool InputDatagrams { get; set; } = true;

    /// <summary>With <see cref="InputDatagrams"/>: repeat inputs as datagram copies: off, auto (measured loss ≥ 0.2 %), always.</summary>
    public Accel.Core.Spice.Input.InputRedundancyMode InputRedundancy { get; set; } = Accel.Core.Spice.Input.InputRedundancyMode.Auto;

    /// <summary>
    /// Ask server edges for LZ4 on the channels whose bytes SPICE does not compress itself (main, audio, smartcard,
    /// usbredir, port, webdav); an older server edge is detected and served without.
    /// </summary>
    public bool WanCompression { get; set; } = true;
}

public sealed class ServerEdgeSection
{
    /// <summary>host:port of the server edge (UDP).</summary>
    public string Address { get; set; } = string.Empty;

    /// <summary>Base64 SHA-256 SPKI pins of the server edge's certificate.</summary>
    public List<string> Pins { get; set; } = [];

    /// <summary>PEM bundle of CAs trusted for this server edge (alternative to pins).</summary>
    public string? CaFile { get; set; }

    /// <summary>TLS server name sent to the server edge.</summary>
    public string ServerName { get; set; } = "spiceaccel";
}

public enum ListenerMode
{
    /// <summary>A local port mapped to one backend host:port.</summary>
    Explicit,
    /// <summary>An HTTP CONNECT proxy (spice-gtk's --spice-proxy, SPICE_PROXY, proxy= in .vv files).</summary>
    Connect,
    /// <summary>Connections redirected by nftables; the backend is the original destination.</summary>
    Transparent,
}

public sealed class ListenerSection
{
    public ListenerMode Mode { get; set; } = ListenerMode.Explicit;

    /// <summary>Local TCP address, e.g. 127.0.0.1:5900.</summary>
    public string Listen { get; set; } = string.Empty;

    /// <summary>Name of the server edge (a key of Client:ServerEdges).</summary>
    public string ServerEdge { get; set; } = string.Empty;

    /// <summary>Explicit mode only: backend host:port as the server edge sees it.</summary>
    public string? Backend { get; set; }
}

public sealed class MetricsSection
{
    /// <summary>host:port of the Prometheus endpoint (/metrics); empty disables it. Loopback by default.</summary>
    public string Listen { get; set; } = "127.0.0.1:9464";
}
