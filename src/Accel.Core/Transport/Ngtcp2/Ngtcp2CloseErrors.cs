using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>Turns what ngtcp2 reports (a peer's CONNECTION_CLOSE, a read or timer error) into one <see cref="TransportException"/>.</summary>
internal static unsafe class Ngtcp2CloseErrors
{
    /// <summary>The peer's CONNECTION_CLOSE: application close, TLS alert, handshake refusal or transport error.</summary>
    public static TransportException FromPeer(nint conn, bool handshakeDone)
    {
        var ccerr = ngtcp2_conn_get_ccerr(conn);
        if (ccerr != null && ccerr->type == NGTCP2_CCERR_TYPE_APPLICATION)
        {
            return new TransportException(TransportError.ConnectionAborted, "The peer closed the connection.", (long)ccerr->error_code);
        }

        var code = ccerr == null ? 0UL : ccerr->error_code;
        if (!handshakeDone || (code >= 0x100 && code <= 0x1ff))
        {
            return code is >= 0x100 and <= 0x1ff
                ? new TransportException(TransportError.AuthenticationFailed, $"The peer refused the TLS handshake (alert {code - 0x100}).")
                : new TransportException(TransportError.ConnectionRefused, $"The peer closed the connection during the handshake (0x{code:x}).");
        }

        return code == 0
            ? new TransportException(TransportError.ConnectionAborted, "The peer closed the connection.", 0)
            : new TransportException(TransportError.ProtocolError, $"The peer closed the connection with transport error 0x{code:x}.");
    }

    /// <summary>A read_pkt failure after our CONNECTION_CLOSE went out: a callback's own error first, then authentication, then protocol.</summary>
    public static TransportException FromReadFailure(int rv, Exception? callbackException, bool authentication, string? authFailure)
    {
        if (callbackException is not null)
        {
            return callbackException as TransportException
                ?? new TransportException(TransportError.InternalError, "A connection callback failed: " + callbackException.Message, null, callbackException);
        }

        return authentication
            ? new TransportException(TransportError.AuthenticationFailed, "TLS authentication failed: " + (authFailure ?? ErrorText(rv)))
            : new TransportException(TransportError.ProtocolError, "ngtcp2: " + ErrorText(rv));
    }

    /// <summary>A handle_expiry failure other than the close and handshake timeouts.</summary>
    public static TransportException FromExpiry(int rv, bool handshakeDone) => rv switch
    {
        NGTCP2_ERR_IDLE_CLOSE => handshakeDone
            ? new TransportException(TransportError.ConnectionIdle, "No packet arrived within the idle timeout.")
            : new TransportException(TransportError.ConnectionRefused, "The peer did not answer the handshake."),
        NGTCP2_ERR_HANDSHAKE_TIMEOUT => new TransportException(TransportError.ConnectionRefused, "The handshake timed out."),
        _ => new TransportException(TransportError.InternalError, "ngtcp2 timer: " + ErrorText(rv)),
    };
}
