using System.Runtime.InteropServices;

namespace Accel.Core.Transport.Ngtcp2.Native;

#pragma warning disable IDE1006, CA1707

/// <summary>
/// Direct P/Invoke into libngtcp2 1.x, libngtcp2_crypto_gnutls and GnuTLS. Every signature is blittable (pointers
/// and primitives only), so nothing is marshalled. The "nice" C names are macros over <c>*_versioned</c> exports;
/// the version constants are passed explicitly.
/// </summary>
internal static unsafe class Ngtcp2Native
{
    public const string LibNgtcp2 = "libngtcp2.so.16";
    public const string LibCrypto = "libngtcp2_crypto_gnutls.so.8";
    public const string LibGnuTls = "libgnutls.so.30";

    public const int NGTCP2_SETTINGS_V2 = 2;
    public const int NGTCP2_TRANSPORT_PARAMS_V1 = 1;
    public const int NGTCP2_CALLBACKS_V1 = 1;
    public const int NGTCP2_PKT_INFO_V1 = 1;
    public const int NGTCP2_CONN_INFO_V1 = 1;
    public const uint NGTCP2_PROTO_VER_V1 = 1;

    public const int NGTCP2_CC_ALGO_RENO = 0;
    public const int NGTCP2_CC_ALGO_CUBIC = 1;
    public const int NGTCP2_CC_ALGO_BBR = 2;

    public const int NGTCP2_ERR_INVALID_ARGUMENT = -201;
    public const int NGTCP2_ERR_NOBUF = -202;
    public const int NGTCP2_ERR_PROTO = -203;
    public const int NGTCP2_ERR_INVALID_STATE = -204;
    public const int NGTCP2_ERR_STREAM_ID_BLOCKED = -206;
    public const int NGTCP2_ERR_STREAM_DATA_BLOCKED = -208;
    public const int NGTCP2_ERR_CRYPTO = -213;
    public const int NGTCP2_ERR_STREAM_SHUT_WR = -219;
    public const int NGTCP2_ERR_STREAM_NOT_FOUND = -220;
    public const int NGTCP2_ERR_STREAM_STATE = -221;
    public const int NGTCP2_ERR_CLOSING = -223;
    public const int NGTCP2_ERR_DRAINING = -224;
    public const int NGTCP2_ERR_DISCARD_PKT = -226;
    public const int NGTCP2_ERR_WRITE_MORE = -230;
    public const int NGTCP2_ERR_RETRY = -231;
    public const int NGTCP2_ERR_DROP_CONN = -232;
    public const int NGTCP2_ERR_HANDSHAKE_TIMEOUT = -236;
    public const int NGTCP2_ERR_IDLE_CLOSE = -238;
    public const int NGTCP2_ERR_CALLBACK_FAILURE = -502;

    public const uint NGTCP2_WRITE_STREAM_FLAG_MORE = 0x01;
    public const uint NGTCP2_WRITE_STREAM_FLAG_FIN = 0x02;
    public const uint NGTCP2_WRITE_DATAGRAM_FLAG_MORE = 0x01;
    public const uint NGTCP2_STREAM_DATA_FLAG_FIN = 0x01;
    public const uint NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET = 0x01;

    public const int NGTCP2_TOKEN_TYPE_RETRY = 1;
    public const byte NGTCP2_PKT_INITIAL = 0x10;
    public const byte NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY2 = 0xb7;
    /// <summary>NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN2 is 1 + 28 + 1 + 20 + 8 + 16 + 16 (rand) = 90; room to spare.</summary>
    public const int RetryTokenBufferLength = 128;

    public const int NGTCP2_PATH_VALIDATION_RESULT_SUCCESS = 0;

    public const int NGTCP2_CCERR_TYPE_TRANSPORT = 0;
    public const int NGTCP2_CCERR_TYPE_APPLICATION = 1;
    public const int NGTCP2_CCERR_TYPE_IDLE_CLOSE = 3;

    public const int GNUTLS_SERVER = 1;
    public const int GNUTLS_CLIENT = 2;
    public const int GNUTLS_NO_END_OF_EARLY_DATA = 1 << 22;
    public const int GNUTLS_CRD_CERTIFICATE = 1;
    public const int GNUTLS_X509_FMT_DER = 0;
    public const int GNUTLS_X509_FMT_PEM = 1;
    public const int GNUTLS_CERT_REQUIRE = 2;
    public const int GNUTLS_ALPN_MANDATORY = 1;
    public const int GNUTLS_NAME_DNS = 1;
    public const int GNUTLS_E_CERTIFICATE_ERROR = -43;

    // ngtcp2
    [DllImport(LibNgtcp2)] public static extern ngtcp2_info* ngtcp2_version(int least_version);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_settings_default_versioned(int settings_version, ngtcp2_settings* settings);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_transport_params_default_versioned(int transport_params_version, ngtcp2_transport_params* @params);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_client_new_versioned(nint* pconn, ngtcp2_cid* dcid, ngtcp2_cid* scid, ngtcp2_path* path, uint client_chosen_version, int callbacks_version, ngtcp2_callbacks* callbacks, int settings_version, ngtcp2_settings* settings, int transport_params_version, ngtcp2_transport_params* @params, void* mem, void* user_data);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_server_new_versioned(nint* pconn, ngtcp2_cid* dcid, ngtcp2_cid* scid, ngtcp2_path* path, uint client_chosen_version, int callbacks_version, ngtcp2_callbacks* callbacks, int settings_version, ngtcp2_settings* settings, int transport_params_version, ngtcp2_transport_params* @params, void* mem, void* user_data);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_del(nint conn);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_set_tls_native_handle(nint conn, nint tls_native_handle);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_accept(ngtcp2_pkt_hd* dest, byte* pkt, nuint pktlen);
    [DllImport(LibNgtcp2)] public static extern nint ngtcp2_pkt_write_stateless_reset(byte* dest, nuint destlen, byte* stateless_reset_token, byte* rand, nuint randlen);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_pkt_decode_version_cid(ngtcp2_version_cid* dest, byte* data, nuint datalen, nuint short_dcidlen);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_read_pkt_versioned(nint conn, ngtcp2_path* path, int pkt_info_version, ngtcp2_pkt_info* pi, byte* pkt, nuint pktlen, ulong ts);
    [DllImport(LibNgtcp2)] public static extern nint ngtcp2_conn_write_pkt_versioned(nint conn, ngtcp2_path* path, int pkt_info_version, ngtcp2_pkt_info* pi, byte* dest, nuint destlen, ulong ts);
    [DllImport(LibNgtcp2)] public static extern nint ngtcp2_conn_writev_stream_versioned(nint conn, ngtcp2_path* path, int pkt_info_version, ngtcp2_pkt_info* pi, byte* dest, nuint destlen, nint* pdatalen, uint flags, long stream_id, ngtcp2_vec* datav, nuint datavcnt, ulong ts);
    [DllImport(LibNgtcp2)] public static extern nint ngtcp2_conn_writev_datagram_versioned(nint conn, ngtcp2_path* path, int pkt_info_version, ngtcp2_pkt_info* pi, byte* dest, nuint destlen, int* paccepted, uint flags, ulong dgram_id, ngtcp2_vec* datav, nuint datavcnt, ulong ts);
    [DllImport(LibNgtcp2)] public static extern nint ngtcp2_conn_write_connection_close_versioned(nint conn, ngtcp2_path* path, int pkt_info_version, ngtcp2_pkt_info* pi, byte* dest, nuint destlen, ngtcp2_ccerr* ccerr, ulong ts);
    [DllImport(LibNgtcp2)] public static extern ulong ngtcp2_conn_get_expiry(nint conn);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_handle_expiry(nint conn, ulong ts);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_update_pkt_tx_time(nint conn, ulong ts);
    [DllImport(LibNgtcp2)] public static extern nuint ngtcp2_conn_get_send_quantum(nint conn);
    [DllImport(LibNgtcp2)] public static extern nuint ngtcp2_conn_get_stream_loss_count(nint conn, long streamId);
    [DllImport(LibNgtcp2)] public static extern nuint ngtcp2_conn_get_path_max_tx_udp_payload_size(nint conn);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_set_keep_alive_timeout(nint conn, ulong timeout);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_initiate_immediate_migration(nint conn, ngtcp2_path* path, ulong ts);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_open_bidi_stream(nint conn, long* pstream_id, void* stream_user_data);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_open_uni_stream(nint conn, long* pstream_id, void* stream_user_data);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_shutdown_stream_write(nint conn, uint flags, long stream_id, ulong app_error_code);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_shutdown_stream_read(nint conn, uint flags, long stream_id, ulong app_error_code);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_extend_max_stream_offset(nint conn, long stream_id, ulong datalen);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_extend_max_offset(nint conn, ulong datalen);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_extend_max_streams_bidi(nint conn, nuint n);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_extend_max_streams_uni(nint conn, nuint n);
    [DllImport(LibNgtcp2)] public static extern ulong ngtcp2_conn_get_streams_bidi_left(nint conn);
    [DllImport(LibNgtcp2)] public static extern ulong ngtcp2_conn_get_streams_uni_left(nint conn);
    [DllImport(LibNgtcp2)] public static extern ulong ngtcp2_conn_get_max_stream_data_left(nint conn, long stream_id);
    [DllImport(LibNgtcp2)] public static extern ulong ngtcp2_conn_get_max_data_left(nint conn);
    [DllImport(LibNgtcp2)] public static extern ngtcp2_transport_params* ngtcp2_conn_get_remote_transport_params(nint conn);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_conn_get_conn_info_versioned(nint conn, int conn_info_version, ngtcp2_conn_info* cinfo);
    [DllImport(LibNgtcp2)] public static extern ngtcp2_ccerr* ngtcp2_conn_get_ccerr(nint conn);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_ccerr_default(ngtcp2_ccerr* ccerr);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_ccerr_set_liberr(ngtcp2_ccerr* ccerr, int liberr, byte* reason, nuint reasonlen);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_ccerr_set_tls_alert(ngtcp2_ccerr* ccerr, byte tls_alert, byte* reason, nuint reasonlen);
    [DllImport(LibNgtcp2)] public static extern byte ngtcp2_conn_get_tls_alert(nint conn);
    [DllImport(LibNgtcp2)] public static extern void ngtcp2_ccerr_set_application_error(ngtcp2_ccerr* ccerr, ulong error_code, byte* reason, nuint reasonlen);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_in_closing_period(nint conn);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_in_draining_period(nint conn);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_conn_get_handshake_completed(nint conn);
    [DllImport(LibNgtcp2)] public static extern byte* ngtcp2_strerror(int liberr);
    [DllImport(LibNgtcp2)] public static extern int ngtcp2_err_is_fatal(int liberr);

    // ngtcp2_crypto_gnutls
    [DllImport(LibCrypto)] public static extern int ngtcp2_crypto_gnutls_configure_client_session(nint session);
    [DllImport(LibCrypto)] public static extern int ngtcp2_crypto_gnutls_configure_server_session(nint session);
    [DllImport(LibCrypto)] public static extern nint ngtcp2_crypto_generate_retry_token2(byte* token, byte* secret, nuint secretlen, uint version, byte* remote_addr, uint remote_addrlen, ngtcp2_cid* retry_scid, ngtcp2_cid* odcid, ulong ts);
    [DllImport(LibCrypto)] public static extern int ngtcp2_crypto_verify_retry_token2(ngtcp2_cid* odcid, byte* token, nuint tokenlen, byte* secret, nuint secretlen, uint version, byte* remote_addr, uint remote_addrlen, ngtcp2_cid* dcid, ulong timeout, ulong ts);
    [DllImport(LibCrypto)] public static extern nint ngtcp2_crypto_write_retry(byte* dest, nuint destlen, uint version, ngtcp2_cid* dcid, ngtcp2_cid* scid, ngtcp2_cid* odcid, byte* token, nuint tokenlen);

    // GnuTLS
    [DllImport(LibGnuTls)] public static extern byte* gnutls_check_version(byte* req_version);
    [DllImport(LibGnuTls)] public static extern int gnutls_certificate_allocate_credentials(nint* res);
    [DllImport(LibGnuTls)] public static extern void gnutls_certificate_free_credentials(nint sc);
    [DllImport(LibGnuTls)] public static extern int gnutls_certificate_set_x509_key_mem(nint res, gnutls_datum_t* cert, gnutls_datum_t* key, int type);
    [DllImport(LibGnuTls)] public static extern int gnutls_init(nint* session, uint flags);
    [DllImport(LibGnuTls)] public static extern void gnutls_deinit(nint session);
    [DllImport(LibGnuTls)] public static extern int gnutls_priority_set_direct(nint session, byte* priorities, byte** err_pos);
    [DllImport(LibGnuTls)] public static extern void gnutls_session_set_ptr(nint session, void* ptr);
    [DllImport(LibGnuTls)] public static extern void* gnutls_session_get_ptr(nint session);
    [DllImport(LibGnuTls)] public static extern int gnutls_credentials_set(nint session, int type, nint cred);
    [DllImport(LibGnuTls)] public static extern int gnutls_alpn_set_protocols(nint session, gnutls_datum_t* protocols, uint protocols_size, uint flags);
    [DllImport(LibGnuTls)] public static extern int gnutls_alpn_get_selected_protocol(nint session, gnutls_datum_t* protocol);
    [DllImport(LibGnuTls)] public static extern int gnutls_server_name_set(nint session, int type, byte* name, nuint name_length);
    [DllImport(LibGnuTls)] public static extern void gnutls_session_set_verify_function(nint session, delegate* unmanaged<nint, int> func);
    [DllImport(LibGnuTls)] public static extern void gnutls_certificate_server_set_request(nint session, int req);
    [DllImport(LibGnuTls)] public static extern gnutls_datum_t* gnutls_certificate_get_peers(nint session, uint* list_size);
    [DllImport(LibGnuTls)] public static extern byte* gnutls_strerror(int error);

    public static string ErrorText(int liberr) => Marshal.PtrToStringUTF8((nint)ngtcp2_strerror(liberr)) ?? liberr.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static string GnuTlsErrorText(int error) => Marshal.PtrToStringUTF8((nint)gnutls_strerror(error)) ?? error.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
