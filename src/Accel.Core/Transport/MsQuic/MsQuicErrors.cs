using System.Net.Quic;
using System.Runtime.Versioning;
using System.Security.Authentication;

namespace Accel.Core.Transport.MsQuic;

internal static class StreamErrorCodes
{
    /// <summary>The code used when a stream or connection is aborted without an explicit one.</summary>
    public const long Default = TransportDefaults.StreamAbortCode;
}

[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal static class MsQuicErrors
{
    public static TransportException Translate(QuicException ex) => ex.QuicError switch
    {
        QuicError.StreamAborted => new TransportException(TransportError.StreamAborted, "the peer aborted the stream", ex.ApplicationErrorCode, ex),
        QuicError.ConnectionAborted => new TransportException(TransportError.ConnectionAborted, "the peer closed the connection", ex.ApplicationErrorCode, ex),
        QuicError.ConnectionIdle => new TransportException(TransportError.ConnectionIdle, "the connection timed out (idle)", null, ex),
        // After the handshake (a connect maps its own timeout): libmsquic's disconnect timeout, nothing acknowledged for
        // that long. The connection died of silence, as at the idle timeout: resumable channels wait for a resume.
        QuicError.ConnectionTimeout => new TransportException(TransportError.ConnectionIdle, "the peer stopped answering: nothing acknowledged within the idle timeout (libmsquic's disconnect timeout, set to it)", null, ex),
        QuicError.ConnectionRefused => new TransportException(TransportError.ConnectionRefused, "the peer refused the connection", null, ex),
        QuicError.OperationAborted => new TransportException(TransportError.OperationAborted, "the operation was aborted locally", ex.ApplicationErrorCode, ex),
        // CRYPTO_ERROR (0x100 + TLS alert): the peer's TLS refused us, e.g. our certificate is not pinned or trusted.
        QuicError.TransportError when ex.TransportErrorCode is >= 0x100 and <= 0x1ff =>
            new TransportException(TransportError.AuthenticationFailed, $"the peer's TLS refused the handshake (alert {ex.TransportErrorCode - 0x100})", null, ex),
        QuicError.TransportError => new TransportException(TransportError.ProtocolError, "QUIC transport error " + ex.TransportErrorCode, null, ex),
        // libmsquic closes a connection with QUIC_STATUS_ABORTED when a stateless reset for it arrives (and when its own
        // handle is closed, which this end reports as its own close): System.Net.Quic names only the status.
        QuicError.InternalError when ex.Message.Contains("QUIC_STATUS_ABORTED", StringComparison.Ordinal) =>
            TransportException.PeerReset(ex),
        QuicError.VersionNegotiationError or QuicError.AlpnInUse => new TransportException(TransportError.ConnectionRefused, ex.Message, null, ex),
        _ => new TransportException(TransportError.InternalError, ex.Message, null, ex),
    };

    public static TransportException Translate(Exception ex) => ex switch
    {
        TransportException te => te,
        QuicException qe => Translate(qe),
        AuthenticationException ae => new TransportException(TransportError.AuthenticationFailed, ae.Message, null, ae),
        ObjectDisposedException => new TransportException(TransportError.ConnectionClosed, "the connection is closed", null, ex),
        _ => new TransportException(TransportError.InternalError, ex.Message, null, ex),
    };
}
