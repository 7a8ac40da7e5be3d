using System.Net;
using System.Security.Cryptography;
using Accel.Core.Transport.Tls;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// Stateless reset (RFC 9000 §10.3) for a server endpoint. Every connection ID the server issues carries a token
/// derived from a static key (HKDF of the endpoint's identity key), so a restarted server edge, which knows no
/// connection, can still tell a client edge that its connection is gone: the client learns it on its next packet
/// instead of at idle timeout. Resets are smaller than the packet that triggered them (no reset loops) and limited to
/// <see cref="MaxPerSecond"/>.
/// </summary>
internal sealed class StatelessReset
{
    /// <summary>Resets sent at most per second and endpoint.</summary>
    public const int MaxPerSecond = 64;

    /// <summary>Smallest reset: RFC 9000 asks for at least 21 bytes so it looks like a short-header packet.</summary>
    private const int MinLength = 21;

    /// <summary>Largest reset sent: enough to be indistinguishable from a short packet.</summary>
    private const int MaxLength = 43;

    private const int TokenLength = 16;

    private static readonly byte[] s_salt = "spiceaccel stateless reset v1"u8.ToArray();

    private readonly byte[] _key;
    private long _window;
    private int _sentInWindow;

    private StatelessReset(byte[] key) => _key = key;

    /// <summary>The key derived from the identity's private key: the same after a restart, different per identity.</summary>
    public static StatelessReset FromIdentity(EndpointIdentity identity)
    {
        var key = new byte[32];
        EndpointIdentities.DeriveKey(identity, s_salt, "token key"u8, key);
        return new StatelessReset(key);
    }

    /// <summary>The token for connection ID <paramref name="cid"/> (16 bytes into <paramref name="token"/>).</summary>
    public void Token(ReadOnlySpan<byte> cid, Span<byte> token)
    {
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, cid, mac);
        mac[..TokenLength].CopyTo(token);
    }

    /// <summary>
    /// Answers a short-header packet for a connection ID this endpoint does not know (receive thread). Returns false when
    /// the packet is too short to answer without a loop, or the rate limit is reached.
    /// </summary>
    public unsafe bool TrySend(UdpEndpoint endpoint, ReadOnlySpan<byte> dcid, int packetLength, SocketAddress to)
    {
        var length = Math.Min(packetLength - 1, MaxLength);
        if (length < MinLength || !TakeRateSlot())
        {
            return false;
        }

        Span<byte> token = stackalloc byte[TokenLength];
        Token(dcid, token);
        Span<byte> random = stackalloc byte[MaxLength];
        RandomNumberGenerator.Fill(random);
        Span<byte> packet = stackalloc byte[MaxLength];
        nint written;
        fixed (byte* dest = packet)
        fixed (byte* t = token)
        fixed (byte* r = random)
        {
            written = ngtcp2_pkt_write_stateless_reset(dest, (nuint)length, t, r, (nuint)(length - TokenLength));
        }

        if (written <= 0)
        {
            return false;
        }

        endpoint.Send(packet[..(int)written], to);
        return true;
    }

    private bool TakeRateSlot()
    {
        var second = Environment.TickCount64 / 1000;
        if (second != _window)
        {
            _window = second;
            _sentInWindow = 0;
        }

        return ++_sentInWindow <= MaxPerSecond;
    }
}
