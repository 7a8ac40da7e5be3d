using System.Runtime.InteropServices;

// Mirrors of the ngtcp2 1.x (libngtcp2.so.16) and GnuTLS structs this engine touches, x86-64 / aarch64 LP64.
// Field names are the C names on purpose: Ngtcp2AbiTests compiles a C program against /usr/include/ngtcp2 and
// compares sizeof/offsetof of every field listed here with the C# layout.
namespace Accel.Core.Transport.Ngtcp2.Native;

#pragma warning disable SA1307, IDE1006, CA1707

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_cid
{
    public nuint datalen;
    public fixed byte data[20];
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_vec
{
    public byte* @base;
    public nuint len;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_addr
{
    public void* addr;
    public uint addrlen;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_path
{
    public ngtcp2_addr local;
    public ngtcp2_addr remote;
    public void* user_data;
}

[StructLayout(LayoutKind.Sequential, Size = 8)]
internal struct ngtcp2_pkt_info
{
    public byte ecn;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct sockaddr_in
{
    public ushort sin_family;
    public ushort sin_port;
    public uint sin_addr;
    public fixed byte sin_zero[8];
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct sockaddr_in6
{
    public ushort sin6_family;
    public ushort sin6_port;
    public uint sin6_flowinfo;
    public fixed byte sin6_addr[16];
    public uint sin6_scope_id;
}

/// <summary>ngtcp2_settings, NGTCP2_SETTINGS_V2 (1.11's current version).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_settings
{
    public void* qlog_write;
    public int cc_algo;
    public ulong initial_ts;
    public ulong initial_rtt;
    public void* log_printf;
    public nuint max_tx_udp_payload_size;
    public byte* token;
    public nuint tokenlen;
    public int token_type;
    public void* rand_ctx;
    public ulong max_window;
    public ulong max_stream_window;
    public nuint ack_thresh;
    public byte no_tx_udp_payload_size_shaping;
    public ulong handshake_timeout;
    public uint* preferred_versions;
    public nuint preferred_versionslen;
    public uint* available_versions;
    public nuint available_versionslen;
    public uint original_version;
    public byte no_pmtud;
    public uint initial_pkt_num;
    public ushort* pmtud_probes;
    public nuint pmtud_probeslen;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_preferred_addr
{
    public ngtcp2_cid cid;
    public sockaddr_in ipv4;
    public sockaddr_in6 ipv6;
    public byte ipv4_present;
    public byte ipv6_present;
    public fixed byte stateless_reset_token[16];
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_version_info
{
    public uint chosen_version;
    public byte* available_versions;
    public nuint available_versionslen;
}

/// <summary>ngtcp2_transport_params, NGTCP2_TRANSPORT_PARAMS_V1.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_transport_params
{
    public ngtcp2_preferred_addr preferred_addr;
    public ngtcp2_cid original_dcid;
    public ngtcp2_cid initial_scid;
    public ngtcp2_cid retry_scid;
    public ulong initial_max_stream_data_bidi_local;
    public ulong initial_max_stream_data_bidi_remote;
    public ulong initial_max_stream_data_uni;
    public ulong initial_max_data;
    public ulong initial_max_streams_bidi;
    public ulong initial_max_streams_uni;
    public ulong max_idle_timeout;
    public ulong max_udp_payload_size;
    public ulong active_connection_id_limit;
    public ulong ack_delay_exponent;
    public ulong max_ack_delay;
    public ulong max_datagram_frame_size;
    public byte stateless_reset_token_present;
    public byte disable_active_migration;
    public byte original_dcid_present;
    public byte initial_scid_present;
    public byte retry_scid_present;
    public byte preferred_addr_present;
    public fixed byte stateless_reset_token[16];
    public byte grease_quic_bit;
    public ngtcp2_version_info version_info;
    public byte version_info_present;
}

/// <summary>ngtcp2_conn_info, NGTCP2_CONN_INFO_V1: no loss or delivery-rate fields in 1.11.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ngtcp2_conn_info
{
    public ulong latest_rtt;
    public ulong min_rtt;
    public ulong smoothed_rtt;
    public ulong rttvar;
    public ulong cwnd;
    public ulong ssthresh;
    public ulong bytes_in_flight;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_ccerr
{
    public int type;
    public ulong error_code;
    public ulong frame_type;
    public byte* reason;
    public nuint reasonlen;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_pkt_hd
{
    public ngtcp2_cid dcid;
    public ngtcp2_cid scid;
    public long pkt_num;
    public byte* token;
    public nuint tokenlen;
    public nuint pkt_numlen;
    public nuint len;
    public uint version;
    public byte type;
    public byte flags;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_version_cid
{
    public uint version;
    public byte* dcid;
    public nuint dcidlen;
    public byte* scid;
    public nuint scidlen;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_info
{
    public int age;
    public int version_num;
    public byte* version_str;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct ngtcp2_crypto_conn_ref
{
    public void* get_conn;
    public void* user_data;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct gnutls_datum_t
{
    public byte* data;
    public uint size;
}

/// <summary>ngtcp2_callbacks, NGTCP2_CALLBACKS_V1: 40 function pointers in C order.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct ngtcp2_callbacks
{
    public nint client_initial;
    public nint recv_client_initial;
    public nint recv_crypto_data;
    public nint handshake_completed;
    public nint recv_version_negotiation;
    public nint encrypt;
    public nint decrypt;
    public nint hp_mask;
    public nint recv_stream_data;
    public nint acked_stream_data_offset;
    public nint stream_open;
    public nint stream_close;
    public nint recv_stateless_reset;
    public nint recv_retry;
    public nint extend_max_local_streams_bidi;
    public nint extend_max_local_streams_uni;
    public nint rand;
    public nint get_new_connection_id;
    public nint remove_connection_id;
    public nint update_key;
    public nint path_validation;
    public nint select_preferred_addr;
    public nint stream_reset;
    public nint extend_max_remote_streams_bidi;
    public nint extend_max_remote_streams_uni;
    public nint extend_max_stream_data;
    public nint dcid_status;
    public nint handshake_confirmed;
    public nint recv_new_token;
    public nint delete_crypto_aead_ctx;
    public nint delete_crypto_cipher_ctx;
    public nint recv_datagram;
    public nint ack_datagram;
    public nint lost_datagram;
    public nint get_path_challenge_data;
    public nint stream_stop_sending;
    public nint version_negotiation;
    public nint recv_rx_key;
    public nint recv_tx_key;
    public nint tls_early_data_rejected;
}
