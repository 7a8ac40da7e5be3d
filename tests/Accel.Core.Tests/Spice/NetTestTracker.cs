using System.Buffers;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Tests.Spice;

/// <summary>Which ping of spice-server's initial network test a PING is.</summary>
internal enum NetTestPing
{
    /// <summary>Not part of the network test (latency monitoring, or no test).</summary>
    None,
    /// <summary>First ping, no padding: latency = RTT.</summary>
    Warmup,
    /// <summary>Second ping, no padding: latency = min(latency, RTT).</summary>
    Latency,
    /// <summary>Third ping, 256 000 bytes of zero padding: bitrate = payload / (RTT − latency).</summary>
    Rate,
}

/// <summary>
/// Recognises the three back-to-back PINGs spice-server queues on the main channel right after MAIN_INIT
/// (main-channel-client.cpp). Their PONG timing decides, once, whether the server treats the link as low bandwidth
/// (&lt; 10 Mibit/s: ACK window 40, JPEG and zlib-GLZ on). Fed every server → client main message in order.
/// </summary>
internal sealed class NetTestTracker
{
    /// <summary>NET_TEST_BYTES: 250 × 1024 bytes of padding on the rate ping.</summary>
    public const int RatePingPadding = 250 * 1024;

    /// <summary>The server's threshold: below this the link is "low bandwidth".</summary>
    public const long LowBandwidthBitsPerSecond = 10L * 1024 * 1024;

    private NetTestPing _expected = NetTestPing.None;
    private uint _lastId;

    public bool SawInit { get; private set; }

    /// <summary>Classifies one server → client main message; <paramref name="ping"/> is set for PINGs.</summary>
    public NetTestPing OnServerMessage(ushort type, in ReadOnlySequence<byte> body, out SpicePing ping)
    {
        ping = default;
        if (type == (ushort)SpiceMainMsg.Init)
        {
            SawInit = true;
            _expected = NetTestPing.Warmup;
            return NetTestPing.None;
        }

        if (type != (ushort)SpiceMsg.Ping)
        {
            return NetTestPing.None;
        }

        ping = SpicePing.Parse(body);
        var kind = _expected switch
        {
            NetTestPing.Warmup when ping.PaddingLength == 0 => NetTestPing.Warmup,
            NetTestPing.Latency when ping.PaddingLength == 0 && ping.Id == _lastId + 1 => NetTestPing.Latency,
            NetTestPing.Rate when ping.PaddingLength > 0 && ping.Id == _lastId + 1 => NetTestPing.Rate,
            _ => NetTestPing.None,
        };
        _lastId = ping.Id;
        _expected = kind switch
        {
            NetTestPing.Warmup => NetTestPing.Latency,
            NetTestPing.Latency => NetTestPing.Rate,
            _ => NetTestPing.None,
        };
        return kind;
    }

    /// <summary>
    /// The bitrate spice-server computes from the latency and rate PONG round trips, or null when it would call the
    /// measurement invalid (RTT ≤ latency), in which case it assumes a fast link.
    /// </summary>
    public static long? EstimateServerBitrate(TimeSpan latency, TimeSpan rateRoundTrip)
    {
        var deltaMicros = (long)(rateRoundTrip - latency).TotalMicroseconds;
        return deltaMicros <= 0 ? null : RatePingPadding * 8L * 1_000_000 / deltaMicros;
    }
}
