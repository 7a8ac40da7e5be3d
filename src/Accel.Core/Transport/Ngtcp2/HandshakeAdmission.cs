using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Accel.Core.Transport.Ngtcp2.Native;
using Microsoft.Extensions.Logging;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>What the listener does with a new client's Initial packet.</summary>
internal enum AdmissionDecision
{
    /// <summary>Build a connection.</summary>
    Accept,
    /// <summary>Build a connection: the packet carries a valid Retry token, and the original DCID was recovered from it.</summary>
    AcceptRetried,
    /// <summary>Answer with a stateless Retry and keep nothing.</summary>
    Retry,
    /// <summary>Ignore the packet.</summary>
    Drop,
}

/// <summary>
/// Admission control for a listener's new connections (RFC 9000 §8.1): stateless Retry (off, always, or above a
/// handshake rate or number of half-open connections) and a cap on half-open connections. Decisions run on the
/// receive thread only; connection loops report the end of their handshakes. The Retry token key is random per
/// listener, so tokens never outlive the process (a client whose token is refused simply starts again).
/// </summary>
internal sealed unsafe class HandshakeAdmission
{
    /// <summary>How long a Retry token is accepted: a round trip and some retransmissions, not more.</summary>
    private static readonly TimeSpan TokenLifetime = TimeSpan.FromSeconds(10);

    private const int RetryPacketBufferLength = 256;

    private readonly TransportListenerOptions _options;
    private readonly ILogger _logger;
    private readonly EndPoint _localEndPoint;
    private readonly byte[] _tokenKey = GC.AllocateArray<byte>(32, pinned: true);
    private int _halfOpen;
    private long _rateSecond;
    private int _rateCount;
    private LogThrottle _dropLog;
    private LogThrottle _retryLog;

    public HandshakeAdmission(TransportListenerOptions options, EndPoint localEndPoint, ILogger logger)
    {
        _options = options;
        _localEndPoint = localEndPoint;
        _logger = logger;
        RandomNumberGenerator.Fill(_tokenKey);
    }

    public ListenerCounters Counters { get; } = new();

    /// <summary>Connections whose handshake is in progress.</summary>
    public int HalfOpen => Volatile.Read(ref _halfOpen);

    /// <summary>
    /// Receive thread: decides about an Initial for no known connection. On <see cref="AdmissionDecision.AcceptRetried"/>,
    /// <paramref name="originalDcid"/> holds the DCID of the client's first Initial.
    /// </summary>
    public AdmissionDecision Decide(ngtcp2_pkt_hd* hd, SocketAddress from, ngtcp2_cid* originalDcid)
    {
        if (hd->type != NGTCP2_PKT_INITIAL)
        {
            return AdmissionDecision.Drop;
        }

        var retried = false;
        if (hd->tokenlen > 0 && hd->token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY2)
        {
            if (!VerifyToken(hd, from, originalDcid))
            {
                Counters.OnInvalidToken();
                return AdmissionDecision.Drop;
            }

            retried = true;
        }
        else if (ShouldRetry())
        {
            return AdmissionDecision.Retry;
        }

        if (HalfOpen >= _options.MaxHalfOpenConnections)
        {
            Counters.OnDroppedAtCap();
            if (_dropLog.Tick(out var dropped))
            {
                Ngtcp2Log.HandshakesDropped(_logger, _localEndPoint, dropped, HalfOpen, _options.MaxHalfOpenConnections);
            }

            return AdmissionDecision.Drop;
        }

        return retried ? AdmissionDecision.AcceptRetried : AdmissionDecision.Accept;
    }

    /// <summary>Receive thread: a connection was built for an admitted Initial; it is half-open until it reports its end.</summary>
    public void OnCreated()
    {
        Interlocked.Increment(ref _halfOpen);
        Counters.OnAdmitted();
    }

    /// <summary>Connection loop: the handshake completed or the connection ended before it did (called once per connection).</summary>
    public void OnHalfOpenEnded()
    {
        Interlocked.Decrement(ref _halfOpen);
        ListenerCounters.OnHalfOpenEnded();
    }

    /// <summary>Receive thread: answers the Initial with a Retry carrying a token bound to the client's address.</summary>
    public void SendRetry(UdpEndpoint endpoint, ngtcp2_pkt_hd* hd, SocketAddress from)
    {
        ngtcp2_cid retryScid;
        retryScid.datalen = UdpEndpoint.LocalCidLength;
        RandomNumberGenerator.Fill(new Span<byte>(retryScid.data, UdpEndpoint.LocalCidLength));
        var token = stackalloc byte[RetryTokenBufferLength];
        var packet = stackalloc byte[RetryPacketBufferLength];
        nint tokenLength;
        fixed (byte* key = _tokenKey)
        fixed (byte* address = from.Buffer.Span)
        {
            tokenLength = ngtcp2_crypto_generate_retry_token2(token, key, (nuint)_tokenKey.Length, hd->version, address, (uint)from.Size, &retryScid, &hd->dcid, Ngtcp2Clock.Now());
        }

        if (tokenLength <= 0)
        {
            return;
        }

        var written = ngtcp2_crypto_write_retry(packet, RetryPacketBufferLength, hd->version, &hd->scid, &retryScid, &hd->dcid, token, (nuint)tokenLength);
        if (written > 0)
        {
            endpoint.Send(new ReadOnlySpan<byte>(packet, (int)written), from);
            Counters.OnRetry();
            if (_options.Retry == ListenerRetryMode.Automatic && _retryLog.Tick(out var retries))
            {
                Ngtcp2Log.RetryUnderLoad(_logger, _localEndPoint, retries, HalfOpen, _rateCount);
            }
        }
    }

    private bool VerifyToken(ngtcp2_pkt_hd* hd, SocketAddress from, ngtcp2_cid* originalDcid)
    {
        fixed (byte* key = _tokenKey)
        fixed (byte* address = from.Buffer.Span)
        {
            return ngtcp2_crypto_verify_retry_token2(originalDcid, hd->token, hd->tokenlen, key, (nuint)_tokenKey.Length, hd->version, address, (uint)from.Size,
                &hd->dcid, Ngtcp2Clock.ToNanoseconds(TokenLifetime), Ngtcp2Clock.Now()) == 0;
        }
    }

    /// <summary>Counts this Initial towards the handshake rate and says whether it gets a Retry.</summary>
    private bool ShouldRetry()
    {
        var second = Environment.TickCount64 / 1000;
        if (second != _rateSecond)
        {
            _rateSecond = second;
            _rateCount = 0;
        }

        _rateCount++;
        return _options.Retry switch
        {
            ListenerRetryMode.Always => true,
            ListenerRetryMode.Automatic => _rateCount > _options.RetryAboveHandshakesPerSecond || HalfOpen >= _options.RetryAboveHalfOpen,
            _ => false,
        };
    }

    /// <summary>One log line per interval however many events: a flood is reported, never logged per packet.</summary>
    private struct LogThrottle
    {
        private const long IntervalMilliseconds = 10_000;
        private long _last;
        private long _pending;
        private bool _started;

        /// <summary>Counts an event; true when a line is due, with the events since the last one.</summary>
        public bool Tick(out long count)
        {
            _pending++;
            var now = Environment.TickCount64;
            if (_started && now - _last < IntervalMilliseconds)
            {
                count = 0;
                return false;
            }

            _started = true;
            _last = now;
            count = _pending;
            _pending = 0;
            return true;
        }
    }
}
