using System.Net.Quic;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Transport.MsQuic;

/// <summary>
/// The congestion controller of MsQuic connections, chosen through libmsquic's own settings (QUIC_SETTINGS of
/// msquic.h): System.Net.Quic has no option for it. libmsquic 2.5 runs CUBIC (its default) and BBR; it has no Reno.
/// A connection takes its controller when libmsquic initialises it, before it sends anything: a server connection in
/// the listener's connection-options callback (QUIC_PARAM_CONN_SETTINGS on its handle, not yet started), a client
/// connection from the library-wide defaults at the moment System.Net.Quic opens its handle (QUIC_PARAM_GLOBAL_SETTINGS,
/// set under a lock held across that synchronous step). Both are read back from the connection afterwards.
/// </summary>
[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal static unsafe class MsQuicSettings
{
    private const uint ParamGlobalSettings = 0x01000005;
    private const uint ParamGlobalStatelessResetKey = 0x0100000B;
    private const int StatelessResetKeyLength = 32;
    private const uint ParamConnSettings = 0x05000004;

    // QUIC_SETTINGS up to MtuDiscoveryMissingProbeCount, the smallest size every libmsquic 2.x accepts.
    private const int Size = 112;
    private const int CongestionControlOffset = 92;
    private const ulong CongestionControlIsSet = 1UL << 17;
    private const int DisconnectTimeoutOffset = 84;
    private const ulong DisconnectTimeoutIsSet = 1UL << 15;
    private const uint MaxDisconnectTimeoutMs = 600_000;
    private const ushort Cubic = 0;
    private const ushort Bbr = 1;

    private static readonly Lock s_clientOpen = new();

    /// <summary>Whether libmsquic runs <paramref name="algorithm"/>: CUBIC and BBR, not Reno.</summary>
    public static bool Supports(CongestionControlAlgorithm algorithm) => algorithm is CongestionControlAlgorithm.Cubic or CongestionControlAlgorithm.Bbr;

    /// <summary>What libmsquic runs for <paramref name="algorithm"/>: Reno, which it lacks, becomes CUBIC (also loss-based).</summary>
    public static CongestionControlAlgorithm Effective(CongestionControlAlgorithm algorithm) =>
        algorithm == CongestionControlAlgorithm.Bbr ? CongestionControlAlgorithm.Bbr : CongestionControlAlgorithm.Cubic;

    /// <summary>Sets the controller and disconnect timeout of a server connection not started yet (the connection-options callback).</summary>
    public static bool TrySet(QuicConnection connection, TransportOptions options) =>
        MsQuicStatistics.HandleOf(connection) is { } handle && WithHandle(handle, h => TrySet(h, options));

    /// <summary>
    /// Starts a client connect whose connection runs the controller and disconnect timeout of <paramref name="transport"/>:
    /// the library defaults are set and the connection's handle opened (synchronously, inside
    /// <see cref="QuicConnection.ConnectAsync"/>) under one lock.
    /// </summary>
    public static Task<QuicConnection> Connect(QuicClientConnectionOptions options, TransportOptions transport, CancellationToken cancellationToken)
    {
        lock (s_clientOpen)
        {
            TrySet(0, transport);
            return QuicConnection.ConnectAsync(options, cancellationToken).AsTask();
        }
    }

    /// <summary>
    /// Sets libmsquic's stateless reset key (QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY, process-wide) to one derived from the
    /// listener's identity key, as the ngtcp2 engine does: a restarted server edge then answers a client edge's packets
    /// for the connection it no longer knows with a reset the client can verify, and the client learns at once that the
    /// connection is gone. libmsquic's own key is random per process, so its resets after a restart were ignored. The
    /// key is the library's, not the listener's: a second listener with another identity in the same process replaces it.
    /// </summary>
    public static bool TrySetStatelessResetKey(EndpointIdentity identity)
    {
        var key = stackalloc byte[StatelessResetKeyLength];
        var span = new Span<byte>(key, StatelessResetKeyLength);
        try
        {
            EndpointIdentities.DeriveKey(identity, "spiceaccel msquic stateless reset v1"u8, "reset key"u8, span);
            return MsQuicLibrary.TrySetParam(0, ParamGlobalStatelessResetKey, key, StatelessResetKeyLength);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(span);
        }
    }

    /// <summary>The controller the connection runs, read back from libmsquic; null where it cannot be read.</summary>
    public static CongestionControlAlgorithm? Read(QuicConnection connection)
    {
        if (MsQuicStatistics.HandleOf(connection) is not { } handle)
        {
            return null;
        }

        ushort value = ushort.MaxValue;
        var read = WithHandle(handle, h =>
        {
            var settings = stackalloc byte[160];
            var length = 160u;
            if (!MsQuicLibrary.TryGetParam(h, ParamConnSettings, settings, ref length) || length < CongestionControlOffset + 2)
            {
                return false;
            }

            value = *(ushort*)(settings + CongestionControlOffset);
            return true;
        });
        return !read ? null : value switch
        {
            Cubic => CongestionControlAlgorithm.Cubic,
            Bbr => CongestionControlAlgorithm.Bbr,
            _ => null,
        };
    }

    /// <summary>
    /// The controller, and the disconnect timeout set to the idle timeout: libmsquic ends a connection whose sent data goes
    /// unacknowledged for DisconnectTimeoutMs (16 s by default) even when the idle timeout is longer; ngtcp2 has no such
    /// timer. With both at the idle timeout, an outage ends the connection at the same bound on either engine.
    /// </summary>
    private static bool TrySet(nint handle, TransportOptions options)
    {
        var settings = stackalloc byte[Size];
        new Span<byte>(settings, Size).Clear();
        *(ulong*)settings = CongestionControlIsSet;
        *(ushort*)(settings + CongestionControlOffset) = Effective(options.CongestionControl) == CongestionControlAlgorithm.Bbr ? Bbr : Cubic;
        if (options.IdleTimeout > TimeSpan.Zero)
        {
            *(ulong*)settings |= DisconnectTimeoutIsSet;
            *(uint*)(settings + DisconnectTimeoutOffset) = (uint)Math.Min(MaxDisconnectTimeoutMs, Math.Ceiling(options.IdleTimeout.TotalMilliseconds));
        }

        return MsQuicLibrary.TrySetParam(handle, handle == 0 ? ParamGlobalSettings : ParamConnSettings, settings, Size);
    }

    private static bool WithHandle(SafeHandle handle, Func<nint, bool> call) => WithHandle(handle, call, static (h, c) => c(h));

    /// <summary>Calls <paramref name="call"/> with the raw handle while it is kept open; false when it is closed already.</summary>
    internal static bool WithHandle<TState>(SafeHandle handle, TState state, Func<nint, TState, bool> call)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return call(handle.DangerousGetHandle(), state);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
