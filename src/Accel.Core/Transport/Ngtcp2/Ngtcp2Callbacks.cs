using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Accel.Core.Transport.Ngtcp2.Native;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// ngtcp2 callbacks. They run synchronously on the loop thread inside read/write/expiry calls. Every one catches
/// everything: an exception must not cross into native code. A failure is recorded and the call returns
/// NGTCP2_ERR_CALLBACK_FAILURE, which makes ngtcp2 fail the connection.
/// </summary>
internal static unsafe class Ngtcp2Callbacks
{
    private static nint s_cryptoLibrary;

    private static nint CryptoExport(string name)
    {
        if (s_cryptoLibrary == 0)
        {
            s_cryptoLibrary = NativeLibrary.Load(LibCrypto);
        }

        return NativeLibrary.GetExport(s_cryptoLibrary, name);
    }

    public static ngtcp2_callbacks Make(bool server)
    {
        var cb = default(ngtcp2_callbacks);
        if (server)
        {
            cb.recv_client_initial = CryptoExport("ngtcp2_crypto_recv_client_initial_cb");
        }
        else
        {
            cb.client_initial = CryptoExport("ngtcp2_crypto_client_initial_cb");
            cb.recv_retry = CryptoExport("ngtcp2_crypto_recv_retry_cb");
            cb.path_validation = (nint)(delegate* unmanaged<nint, uint, ngtcp2_path*, ngtcp2_path*, int, void*, int>)&PathValidationCallback;
        }

        cb.recv_crypto_data = CryptoExport("ngtcp2_crypto_recv_crypto_data_cb");
        cb.encrypt = CryptoExport("ngtcp2_crypto_encrypt_cb");
        cb.decrypt = CryptoExport("ngtcp2_crypto_decrypt_cb");
        cb.hp_mask = CryptoExport("ngtcp2_crypto_hp_mask_cb");
        cb.update_key = CryptoExport("ngtcp2_crypto_update_key_cb");
        cb.delete_crypto_aead_ctx = CryptoExport("ngtcp2_crypto_delete_crypto_aead_ctx_cb");
        cb.delete_crypto_cipher_ctx = CryptoExport("ngtcp2_crypto_delete_crypto_cipher_ctx_cb");
        cb.get_path_challenge_data = CryptoExport("ngtcp2_crypto_get_path_challenge_data_cb");
        cb.version_negotiation = CryptoExport("ngtcp2_crypto_version_negotiation_cb");

        cb.rand = (nint)(delegate* unmanaged<byte*, nuint, void*, void>)&RandCallback;
        cb.get_new_connection_id = (nint)(delegate* unmanaged<nint, ngtcp2_cid*, byte*, nuint, void*, int>)&GetNewConnectionIdCallback;
        cb.remove_connection_id = (nint)(delegate* unmanaged<nint, ngtcp2_cid*, void*, int>)&RemoveConnectionIdCallback;
        cb.handshake_completed = (nint)(delegate* unmanaged<nint, void*, int>)&HandshakeCompletedCallback;
        cb.handshake_confirmed = (nint)(delegate* unmanaged<nint, void*, int>)&HandshakeConfirmedCallback;
        cb.recv_stream_data = (nint)(delegate* unmanaged<nint, uint, long, ulong, byte*, nuint, void*, void*, int>)&RecvStreamDataCallback;
        cb.acked_stream_data_offset = (nint)(delegate* unmanaged<nint, long, ulong, ulong, void*, void*, int>)&AckedStreamDataOffsetCallback;
        cb.stream_open = (nint)(delegate* unmanaged<nint, long, void*, int>)&StreamOpenCallback;
        cb.stream_close = (nint)(delegate* unmanaged<nint, uint, long, ulong, void*, void*, int>)&StreamCloseCallback;
        cb.stream_reset = (nint)(delegate* unmanaged<nint, long, ulong, ulong, void*, void*, int>)&StreamResetCallback;
        cb.extend_max_local_streams_bidi = (nint)(delegate* unmanaged<nint, ulong, void*, int>)&ExtendMaxLocalStreamsCallback;
        cb.extend_max_local_streams_uni = (nint)(delegate* unmanaged<nint, ulong, void*, int>)&ExtendMaxLocalStreamsCallback;
        cb.extend_max_stream_data = (nint)(delegate* unmanaged<nint, long, ulong, void*, void*, int>)&ExtendMaxStreamDataCallback;
        cb.recv_stateless_reset = (nint)(delegate* unmanaged<nint, void*, void*, int>)&RecvStatelessResetCallback;
        cb.recv_datagram = (nint)(delegate* unmanaged<nint, uint, byte*, nuint, void*, int>)&RecvDatagramCallback;
        return cb;
    }

    private static Ngtcp2Connection Owner(void* userData) => Ngtcp2NativeConnection.OwnerOf(userData)!;

    [UnmanagedCallersOnly]
    private static void RandCallback(byte* dest, nuint length, void* randCtx)
    {
        try
        {
            RandomNumberGenerator.Fill(new Span<byte>(dest, (int)length));
        }
        catch
        {
            // RandomNumberGenerator does not fail in practice; nothing can be reported through this signature.
        }
    }

    [UnmanagedCallersOnly]
    private static int GetNewConnectionIdCallback(nint conn, ngtcp2_cid* cid, byte* token, nuint cidlen, void* userData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            RandomNumberGenerator.Fill(new Span<byte>(cid->data, (int)cidlen));
            cid->datalen = cidlen;
            self.ResetToken(cid->data, (int)cidlen, token);
            if (self.IsServer)
            {
                self.RegisterCid(cid->data, (int)cidlen);
            }

            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "get_new_connection_id");
        }
    }

    [UnmanagedCallersOnly]
    private static int RecvStatelessResetCallback(nint conn, void* reset, void* userData)
    {
        try
        {
            Owner(userData).PeerReset = true;
            return 0;
        }
        catch
        {
            return NGTCP2_ERR_CALLBACK_FAILURE;
        }
    }

    [UnmanagedCallersOnly]
    private static int RemoveConnectionIdCallback(nint conn, ngtcp2_cid* cid, void* userData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            if (self.IsServer)
            {
                self.UnregisterCid(cid->data, (int)cid->datalen);
            }

            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "remove_connection_id");
        }
    }

    [UnmanagedCallersOnly]
    private static int HandshakeCompletedCallback(nint conn, void* userData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            return self.OnHandshakeCompleted(conn);
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "handshake_completed");
        }
    }

    [UnmanagedCallersOnly]
    private static int HandshakeConfirmedCallback(nint conn, void* userData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.OnHandshakeConfirmed();
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "handshake_confirmed");
        }
    }

    /// <summary>At a client: the outcome of validating the path it migrated to.</summary>
    [UnmanagedCallersOnly]
    private static int PathValidationCallback(nint conn, uint flags, ngtcp2_path* path, ngtcp2_path* oldPath, int result, void* userData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.Migration?.OnValidation(result == NGTCP2_PATH_VALIDATION_RESULT_SUCCESS);
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "path_validation");
        }
    }

    [UnmanagedCallersOnly]
    private static int RecvStreamDataCallback(nint conn, uint flags, long streamId, ulong offset, byte* data, nuint datalen, void* userData, void* streamUserData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.Streams.OnReceived(streamId, new ReadOnlySpan<byte>(data, (int)datalen), (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "recv_stream_data");
        }
    }

    [UnmanagedCallersOnly]
    private static int AckedStreamDataOffsetCallback(nint conn, long streamId, ulong offset, ulong datalen, void* userData, void* streamUserData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.Streams.OnAcked(streamId, (long)offset, (long)datalen);
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "acked_stream_data_offset");
        }
    }

    [UnmanagedCallersOnly]
    private static int StreamOpenCallback(nint conn, long streamId, void* userData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.OnStreamOpened(streamId);
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "stream_open");
        }
    }

    [UnmanagedCallersOnly]
    private static int StreamCloseCallback(nint conn, uint flags, long streamId, ulong appErrorCode, void* userData, void* streamUserData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.Streams.OnClosed(streamId, (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) != 0 ? (long)appErrorCode : null);
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "stream_close");
        }
    }

    [UnmanagedCallersOnly]
    private static int StreamResetCallback(nint conn, long streamId, ulong finalSize, ulong appErrorCode, void* userData, void* streamUserData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.Streams.OnReset(streamId, (long)appErrorCode);
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "stream_reset");
        }
    }

    [UnmanagedCallersOnly]
    private static int ExtendMaxLocalStreamsCallback(nint conn, ulong maxStreams, void* userData)
    {
        try
        {
            Owner(userData).Streams.OnMaxLocalStreamsExtended();
            return 0;
        }
        catch
        {
            return NGTCP2_ERR_CALLBACK_FAILURE;
        }
    }

    [UnmanagedCallersOnly]
    private static int ExtendMaxStreamDataCallback(nint conn, long streamId, ulong maxData, void* userData, void* streamUserData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.Streams.OnMaxStreamDataExtended(streamId);
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "extend_max_stream_data");
        }
    }

    [UnmanagedCallersOnly]
    private static int RecvDatagramCallback(nint conn, uint flags, byte* data, nuint datalen, void* userData)
    {
        Ngtcp2Connection? self = null;
        try
        {
            self = Owner(userData);
            self.Datagrams.OnReceived(new ReadOnlySpan<byte>(data, (int)datalen));
            return 0;
        }
        catch (Exception e)
        {
            return self is null ? NGTCP2_ERR_CALLBACK_FAILURE : self.Failed(e, "recv_datagram");
        }
    }
}
