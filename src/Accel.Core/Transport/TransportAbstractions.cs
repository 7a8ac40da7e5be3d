using System.Net;

namespace Accel.Core.Transport;

/// <summary>
/// What an engine can do beyond the seam's required members. Engines say honestly what they lack; callers degrade
/// instead of assuming. Optional operations are separate interfaces a connection may implement
/// (<see cref="IDatagramConnection"/>, <see cref="IConnectionStatistics"/>): callers test with <c>is</c>.
/// </summary>
[Flags]
public enum TransportCapabilities
{
    None = 0,
    /// <summary>The engine honours <see cref="ITransportStream.Urgency"/> when packing packets.</summary>
    StreamPriority = 1 << 1,
    /// <summary>RTT, cwnd, bytes in flight come from the engine's congestion controller (see <see cref="IConnectionStatistics"/>).</summary>
    CongestionStatistics = 1 << 2,
    /// <summary>The congestion controller can be chosen (BBR, CUBIC, Reno).</summary>
    CongestionControlChoice = 1 << 3,
    /// <summary>Lost-packet counts are known.</summary>
    LossStatistics = 1 << 4,
    /// <summary>Delivery-rate estimate is known.</summary>
    DeliveryRate = 1 << 5,
    /// <summary>
    /// <see cref="ITransportStream.UnacknowledgedBytes"/> and <see cref="ITransportStream.AcknowledgedBytes"/> follow the
    /// peer's acknowledgements. Without it they follow the engine's completion of each write, which can run ahead of
    /// the acknowledgements by the engine's own send buffer (System.Net.Quic: libmsquic completes a write once it is in
    /// its connection send buffer, 128 KiB at first and growing with the congestion window).
    /// </summary>
    AcknowledgedBytes = 1 << 6,
    /// <summary>
    /// The engine sends and receives QUIC DATAGRAM frames (RFC 9221): its connections are <see cref="IDatagramConnection"/>s,
    /// with datagrams where the peer offered them too (<see cref="IDatagramConnection.MaxDatagramPayloadSize"/> above 0).
    /// Without it the edges fall back: pointer positions stay on the inputs stream, no input copies, no display previews.
    /// </summary>
    Datagrams = 1 << 7,
}

/// <summary>
/// Stream urgency in the style of RFC 9218 (Extensible Prioritization Scheme for HTTP): 0 is the most urgent, 7 the
/// least, 3 the default. The transport knows nothing else about what a stream carries; the application maps its
/// traffic to urgencies in one place. Streams of the same urgency share the link round-robin (RFC 9218's
/// "incremental"). How urgencies share the link is the scheduler's business (<c>SchedulerOptions</c>).
/// </summary>
public static class StreamUrgency
{
    public const byte Highest = 0;

    /// <summary>RFC 9218's default urgency.</summary>
    public const byte Default = 3;

    public const byte Lowest = 7;

    /// <summary>Number of urgency levels.</summary>
    public const int Levels = Lowest + 1;

    /// <summary>Throws when <paramref name="urgency"/> is not 0–7.</summary>
    public static byte Validate(byte urgency) =>
        urgency <= Lowest ? urgency : throw new ArgumentOutOfRangeException(nameof(urgency), urgency, "urgency is 0 (most urgent) to 7");
}

/// <summary>Defaults every engine shares (the conformance suite checks each of them).</summary>
public static class TransportDefaults
{
    /// <summary>The urgency of a stream the peer opened, until the application sets one.</summary>
    public const byte AcceptedStreamUrgency = StreamUrgency.Default;

    /// <summary>The application error code a stream is aborted with when it is disposed or cancelled without one.</summary>
    public const long StreamAbortCode = 0;
}

public enum CongestionControlAlgorithm
{
    Bbr,
    Cubic,
    Reno,
}

public enum StreamDirection
{
    Bidirectional,
    Unidirectional,
}

[Flags]
public enum AbortDirection
{
    /// <summary>STOP_SENDING: we will not read any more.</summary>
    Read = 1,
    /// <summary>RESET_STREAM: unsent and unacknowledged data is dropped.</summary>
    Write = 2,
    Both = Read | Write,
}

/// <summary>Why a transport operation failed. Returned upward, logged once at the loop boundary.</summary>
public enum TransportError
{
    /// <summary>Anything not classified below.</summary>
    InternalError,
    /// <summary>The peer did not answer the handshake (wrong address, nothing listening, timed out).</summary>
    ConnectionRefused,
    /// <summary>TLS failed: certificate not pinned/trusted, no client certificate, ALPN mismatch.</summary>
    AuthenticationFailed,
    /// <summary>The peer closed the connection with an application error code.</summary>
    ConnectionAborted,
    /// <summary>No packet within the idle timeout.</summary>
    ConnectionIdle,
    /// <summary>The connection was closed locally.</summary>
    ConnectionClosed,
    /// <summary>The peer reset the stream (RESET_STREAM) or asked us to stop sending (STOP_SENDING).</summary>
    StreamAborted,
    /// <summary>The local side aborted this stream direction, or the operation was cancelled.</summary>
    OperationAborted,
    /// <summary>The peer broke the QUIC protocol.</summary>
    ProtocolError,
    /// <summary>No more streams may be opened right now and waiting was not allowed.</summary>
    StreamLimitReached,
}

/// <summary>A transport failure with its classification and, where the peer sent one, the application error code.</summary>
public sealed class TransportException : IOException
{
    public TransportException(TransportError error, string message, long? applicationErrorCode = null, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        ApplicationErrorCode = applicationErrorCode;
    }

    /// <summary>The connection ended by the peer's stateless reset (RFC 9000 §10.3), as each engine learns it.</summary>
    internal static TransportException PeerReset(Exception? inner = null) =>
        new(TransportError.ConnectionAborted, "The peer reset the connection (stateless reset): it no longer knows it, e.g. it restarted.", null, inner);

    public TransportError Error { get; }

    public long? ApplicationErrorCode { get; }
}

/// <summary>Connection statistics. Fields the engine does not know are null.</summary>
public readonly record struct ConnectionStatistics
{
    public TimeSpan? SmoothedRtt { get; init; }
    public TimeSpan? MinRtt { get; init; }
    public TimeSpan? LatestRtt { get; init; }
    public TimeSpan? RttVariance { get; init; }
    public long? CongestionWindow { get; init; }
    public long? BytesInFlight { get; init; }
    /// <summary>Estimated delivery rate in bytes per second.</summary>
    public long? DeliveryRate { get; init; }
    public long? PacketsLost { get; init; }
    public long BytesSent { get; init; }
    public long BytesReceived { get; init; }
    public long PacketsSent { get; init; }
    public long PacketsReceived { get; init; }
}

/// <summary>Peer authentication: pin the peer's SubjectPublicKeyInfo SHA-256, or trust a CA bundle, or both.</summary>
public sealed record PeerTrust
{
    /// <summary>SHA-256 digests (32 bytes each) of the peer's SubjectPublicKeyInfo. Any match is accepted.</summary>
    public IReadOnlyList<byte[]> PinnedSpkiSha256 { get; init; } = [];

    /// <summary>PEM text of CA certificates whose chains are accepted.</summary>
    public string? CaBundlePem { get; init; }

    /// <summary>True when neither pin nor CA is configured (no peer can be authenticated).</summary>
    public bool IsEmpty => PinnedSpkiSha256.Count == 0 && string.IsNullOrEmpty(CaBundlePem);
}

/// <summary>This endpoint's identity: a certificate and its private key, both PEM.</summary>
public sealed record EndpointIdentity(string CertificatePem, string PrivateKeyPem);

/// <summary>Options common to both ends of a connection.</summary>
public record TransportOptions
{
    public const string DefaultAlpn = "spiceaccel/1";

    public required EndpointIdentity Identity { get; init; }
    public required PeerTrust PeerTrust { get; init; }
    public string Alpn { get; init; } = DefaultAlpn;
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Send a PING when nothing was sent for this long. Zero disables keep-alive.</summary>
    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public CongestionControlAlgorithm CongestionControl { get; init; } = CongestionControlAlgorithm.Bbr;
    /// <summary>Initial per-stream receive window. 250 ms × 100 Mbit/s ≈ 3 MB is the connection BDP.</summary>
    public long StreamReceiveWindow { get; init; } = 4 * 1024 * 1024;
    /// <summary>
    /// Initial connection receive window: 16 stream windows. Credit comes back as readers take data, so a reader that
    /// stops holds up to its stream's window of this; with 4 stream windows, 4 stalled viewers froze every other
    /// channel on the connection until <c>Limits:StallTimeout</c> closed them (bench/README.md, "Sessions").
    /// </summary>
    public long ConnectionReceiveWindow { get; init; } = 64 * 1024 * 1024;
    /// <summary>How far the receive windows may auto-tune.</summary>
    public long MaxStreamReceiveWindow { get; init; } = 16 * 1024 * 1024;
    public long MaxConnectionReceiveWindow { get; init; } = 128 * 1024 * 1024;
    public int MaxInboundBidirectionalStreams { get; init; } = 1024;
    public int MaxInboundUnidirectionalStreams { get; init; } = 256;
    /// <summary>Largest DATAGRAM frame payload we accept; zero disables datagrams.</summary>
    public int MaxDatagramFrameSize { get; init; } = 1200;
    /// <summary>
    /// The longest this end delays an ACK (transport parameter max_ack_delay; RFC 9000 default 25 ms). Short, because a
    /// keystroke is one packet: with nothing after it to fill an ACK, it is acknowledged only when this expires, and the
    /// sender's probe timeout (srtt + 4·rttvar + the peer's max_ack_delay) waits that long too before repairing a loss.
    /// Bulk data is acknowledged every second packet regardless. ngtcp2 only (System.Net.Quic has no such option).
    /// </summary>
    public TimeSpan MaxAckDelay { get; init; } = TimeSpan.FromMilliseconds(5);
}

/// <summary>When a listener answers a new client's Initial with a stateless Retry (RFC 9000 §8.1) before it builds any state.</summary>
public enum ListenerRetryMode
{
    /// <summary>Never: every admitted Initial builds a connection at once.</summary>
    Off,
    /// <summary>Always: a client proves its address with one extra round trip before the server keeps any state for it.</summary>
    Always,
    /// <summary>Only under load: above a handshake rate or a number of half-open connections.</summary>
    Automatic,
}

public sealed record TransportListenerOptions : TransportOptions
{
    public required IPEndPoint ListenEndPoint { get; init; }
    /// <summary>Connections waiting for <see cref="ITransportListener.AcceptAsync"/>; more are refused.</summary>
    public int AcceptBacklog { get; init; } = 64;

    /// <summary>
    /// Handshakes in progress at once (connections created for a client's Initial and not yet authenticated). Initials
    /// past it are dropped (counted and logged, never answered) until a handshake ends or times out. ngtcp2 only.
    /// </summary>
    public int MaxHalfOpenConnections { get; init; } = 256;

    /// <summary>Stateless Retry for new clients: off, always, or automatic (the thresholds below). ngtcp2 only.</summary>
    public ListenerRetryMode Retry { get; init; } = ListenerRetryMode.Automatic;

    /// <summary>Automatic Retry: new clients' Initials per second (without a Retry token) above which Retry is sent.</summary>
    public int RetryAboveHandshakesPerSecond { get; init; } = 32;

    /// <summary>Automatic Retry: half-open connections at or above which Retry is sent.</summary>
    public int RetryAboveHalfOpen { get; init; } = 32;
}

public sealed record TransportClientOptions : TransportOptions
{
    public required EndPoint RemoteEndPoint { get; init; }
    /// <summary>TLS server name (SNI). Not used for verification when the peer is pinned.</summary>
    public string ServerName { get; init; } = "spiceaccel";
    public IPEndPoint? LocalEndPoint { get; init; }
}

/// <summary>A QUIC implementation behind the seam.</summary>
public interface ITransportEngine
{
    /// <summary>Stable name: "ngtcp2" or "msquic".</summary>
    string Name { get; }

    /// <summary>Whether the engine can run on this host.</summary>
    bool IsSupported { get; }

    /// <summary>Why <see cref="IsSupported"/> is false, for logs and skipped tests.</summary>
    string? UnsupportedReason { get; }

    /// <summary>A version string for reports, e.g. "ngtcp2 1.11.0, GnuTLS 3.7.9".</summary>
    string Version { get; }

    TransportCapabilities Capabilities { get; }

    /// <summary>
    /// Whether connections run <paramref name="algorithm"/> when <see cref="TransportOptions.CongestionControl"/> asks
    /// for it: every controller where the engine has <see cref="TransportCapabilities.CongestionControlChoice"/>, only
    /// CUBIC where it has not. An engine that has the choice but lacks one controller says so here.
    /// </summary>
    bool Runs(CongestionControlAlgorithm algorithm) =>
        algorithm == CongestionControlAlgorithm.Cubic || (Capabilities & TransportCapabilities.CongestionControlChoice) != 0;

    ValueTask<ITransportListener> ListenAsync(TransportListenerOptions options, CancellationToken cancellationToken = default);

    ValueTask<ITransportConnection> ConnectAsync(TransportClientOptions options, CancellationToken cancellationToken = default);
}

public interface ITransportListener : IAsyncDisposable
{
    IPEndPoint LocalEndPoint { get; }

    /// <summary>Next authenticated connection. Connections whose handshake fails are logged and never returned.</summary>
    ValueTask<ITransportConnection> AcceptAsync(CancellationToken cancellationToken = default);
}

public interface ITransportConnection : IAsyncDisposable
{
    EndPoint RemoteEndPoint { get; }

    EndPoint LocalEndPoint { get; }

    string NegotiatedAlpn { get; }

    /// <summary>SHA-256 of the authenticated peer's SubjectPublicKeyInfo.</summary>
    ReadOnlyMemory<byte> PeerSpkiSha256 { get; }

    TransportCapabilities Capabilities { get; }

    /// <summary>Completes when the connection is closed for any reason; the result says why.</summary>
    Task<TransportException> Closed { get; }

    /// <summary>Opens a stream; waits while the peer's stream limit is reached.</summary>
    ValueTask<ITransportStream> OpenStreamAsync(StreamDirection direction, byte urgency, CancellationToken cancellationToken = default);

    /// <summary>Next stream the peer opened.</summary>
    ValueTask<ITransportStream> AcceptStreamAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Graceful close: data already written is delivered first (bounded by <paramref name="cancellationToken"/>), then
    /// CONNECTION_CLOSE. Delivered means the peer's application can still read all of it: acknowledged by the peer, and
    /// where the peer's engine discards what its application has not read when the connection closes (System.Net.Quic
    /// does), also released by the peer (read to the end) for every stream this end opened and finished both ways,
    /// waiting at most the idle timeout for a peer that does not read. docs/msquic.md says which engine waits for what.
    /// </summary>
    ValueTask CloseAsync(long applicationErrorCode, CancellationToken cancellationToken = default);
}

/// <summary>Optional: connection statistics. A connection that has any implements this; callers test with <c>is</c>.</summary>
public interface IConnectionStatistics
{
    /// <summary>Reads the current statistics (unknown fields are null). Never blocks the connection's loop for long.</summary>
    ConnectionStatistics GetStatistics();
}

/// <summary>Optional: RFC 9221 datagrams. Only a connection whose engine sends them implements this.</summary>
public interface IDatagramConnection
{
    /// <summary>Largest datagram payload that fits now; 0 when the peer does not accept datagrams.</summary>
    int MaxDatagramPayloadSize { get; }

    /// <summary>Queues an unreliable datagram. False when it is too large, the peer does not accept them, or the queue is full.</summary>
    bool TrySendDatagram(ReadOnlySpan<byte> payload);

    /// <summary>Receives the next datagram into <paramref name="buffer"/> and returns its length (larger datagrams are dropped).</summary>
    ValueTask<int> ReceiveDatagramAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);
}

/// <summary>A connection that wraps another (to observe it): optional features are looked up on the inner one.</summary>
public interface ITransportConnectionDecorator
{
    ITransportConnection Inner { get; }
}

/// <summary>Reads optional features through decorators that forward them.</summary>
public static class TransportFeatures
{
    /// <summary>The connection's statistics, or all-unknown when it has none.</summary>
    public static ConnectionStatistics StatisticsOrDefault(this ITransportConnection connection) =>
        connection is IConnectionStatistics statistics ? statistics.GetStatistics() : default;

    /// <summary>The connection's statistics (through decorators), or null when its engine has none.</summary>
    public static IConnectionStatistics? Statistics(this ITransportConnection connection) => connection switch
    {
        IConnectionStatistics statistics => statistics,
        ITransportConnectionDecorator decorator => decorator.Inner.Statistics(),
        _ => null,
    };

    /// <summary>The connection's datagrams (through decorators), or null when its engine has none.</summary>
    public static IDatagramConnection? Datagrams(this ITransportConnection connection) => connection switch
    {
        IDatagramConnection datagrams => datagrams,
        ITransportConnectionDecorator decorator => decorator.Inner.Datagrams(),
        _ => null,
    };
}

public interface ITransportStream : IAsyncDisposable
{
    long Id { get; }

    StreamDirection Direction { get; }

    bool CanRead { get; }

    bool CanWrite { get; }

    /// <summary>The stream's urgency (0 most urgent … 7, see <see cref="StreamUrgency"/>); may change while the stream is open.</summary>
    byte Urgency { get; set; }

    /// <summary>
    /// Reads available data; 0 means the peer finished writing (FIN). Throws <see cref="TransportException"/> on reset.
    /// Cancelling the token of a pending read aborts the read side (STOP_SENDING), as System.Net.Quic does: it means shutdown.
    /// </summary>
    ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);

    /// <summary>
    /// Queues data for sending. Completes when the engine has taken the bytes (copied or owned), applying backpressure.
    /// Only one write may be pending. Cancelling the token of a pending write aborts the write side (RESET_STREAM).
    /// </summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool completeWrites = false, CancellationToken cancellationToken = default);

    /// <summary>Sends FIN after everything written so far.</summary>
    void CompleteWrites();

    /// <summary>RESET_STREAM (write) and/or STOP_SENDING (read) with an application error code.</summary>
    void Abort(AbortDirection direction, long errorCode);

    /// <summary>
    /// Bytes written but not yet acknowledged by the peer (where the engine lacks <see cref="TransportCapabilities.AcknowledgedBytes"/>:
    /// not yet completed by the engine).
    /// </summary>
    long UnacknowledgedBytes { get; }

    /// <summary>
    /// Bytes of this stream the peer has acknowledged so far, counting from the stream's start (or, where the engine does
    /// not say, bytes whose write completed). Only grows; a delivery-rate measurement reads it.
    /// </summary>
    long AcknowledgedBytes { get; }

    /// <summary>Completes when the write side is finished: all data acknowledged after FIN (success), or reset/aborted (fault).</summary>
    Task WritesClosed { get; }

    /// <summary>Completes when the read side is finished: FIN consumed (success), or reset/aborted (fault).</summary>
    Task ReadsClosed { get; }
}
