using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace NetemLink;

/// <summary>Measured behaviour of one direction.</summary>
public sealed record DirectionMeasurement
{
    public int Sent { get; init; }
    public int Received { get; init; }
    public double LossFraction => Sent == 0 ? 0 : 1.0 - ((double)Math.Min(Received, Sent) / Sent);
    public double OneWayMedianMs { get; init; }
    public double OneWayP95Ms { get; init; }
    public double OneWayMinMs { get; init; }
    public double RateBitsPerSecond { get; init; }
}

/// <summary>
/// Measures the link with UDP probes from sockets created inside each namespace. Sender and receiver share this
/// process's monotonic clock, so one-way delay is exact (no clock sync needed).
/// </summary>
public static class LinkProbe
{
    private const int ProbePort = 47001;

    /// <summary>Sends <paramref name="count"/> small probes at <paramref name="intervalMs"/> spacing; delay and loss.</summary>
    public static DirectionMeasurement MeasureDelayAndLoss(
        string fromNs, string toNs, IPAddress toAddress, int count, double intervalMs, CancellationToken ct)
    {
        using var rx = Netns.CreateSocket(toNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var tx = Netns.CreateSocket(fromNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rx.Bind(new IPEndPoint(IPAddress.Any, ProbePort));
        rx.ReceiveBufferSize = 4 << 20;
        var delays = new List<double>(count);
        var seen = new bool[count];
        var receiver = new Thread(() =>
        {
            Native.BoostCurrentThread();
            var buf = new byte[2048];
            rx.ReceiveTimeout = 200;
            while (true)
            {
                int n;
                try
                {
                    n = rx.Receive(buf);
                }
                catch (SocketException)
                {
                    return;
                }

                var now = Stopwatch.GetTimestamp();
                if (n < 12)
                {
                    continue;
                }

                var seq = BinaryPrimitives.ReadInt32LittleEndian(buf);
                var sent = BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(4));
                if (seq == -1)
                {
                    return;
                }

                if (seq >= 0 && seq < count && !seen[seq])
                {
                    seen[seq] = true;
                    lock (delays)
                    {
                        delays.Add((now - sent) * 1000.0 / Stopwatch.Frequency);
                    }
                }
            }
        }) { IsBackground = true };
        receiver.Start();

        var target = new IPEndPoint(toAddress, ProbePort);
        var payload = new byte[64];
        using var boost = Native.BoostFor();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count && !ct.IsCancellationRequested; i++)
        {
            var due = start + (long)(i * intervalMs / 1000.0 * Stopwatch.Frequency);
            WaitUntil(due);
            BinaryPrimitives.WriteInt32LittleEndian(payload, i);
            BinaryPrimitives.WriteInt64LittleEndian(payload.AsSpan(4), Stopwatch.GetTimestamp());
            tx.SendTo(payload, target);
        }

        // Let the last probes drain (longest plausible one-way delay + jitter), then stop the receiver.
        Thread.Sleep(1500);
        rx.Close();
        receiver.Join(2000);
        lock (delays)
        {
            delays.Sort();
            return new DirectionMeasurement
            {
                Sent = count,
                Received = delays.Count,
                OneWayMedianMs = Percentile(delays, 0.5),
                OneWayP95Ms = Percentile(delays, 0.95),
                OneWayMinMs = delays.Count > 0 ? delays[0] : double.NaN,
            };
        }
    }

    /// <summary>
    /// Offers <paramref name="offeredBitsPerSecond"/> of 1200-byte datagrams for <paramref name="seconds"/> and
    /// measures the delivered rate at the receiver between the first and last arrival (IP bytes, 28-byte UDP/IP header included).
    /// </summary>
    public static DirectionMeasurement MeasureRate(
        string fromNs, string toNs, IPAddress toAddress, double offeredBitsPerSecond, double seconds, CancellationToken ct)
    {
        const int Size = 1200;
        using var rx = Netns.CreateSocket(toNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var tx = Netns.CreateSocket(fromNs, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        rx.Bind(new IPEndPoint(IPAddress.Any, ProbePort + 1));
        rx.ReceiveBufferSize = 8 << 20;
        tx.SendBufferSize = 8 << 20;
        long first = 0, last = 0, bytes = 0;
        var received = 0;
        var receiver = new Thread(() =>
        {
            Native.BoostCurrentThread();
            var buf = new byte[2048];
            rx.ReceiveTimeout = 200;
            while (true)
            {
                int n;
                try
                {
                    n = rx.Receive(buf);
                }
                catch (SocketException)
                {
                    return;
                }

                var now = Stopwatch.GetTimestamp();
                if (received == 0)
                {
                    first = now;
                }
                else
                {
                    bytes += n + 28;
                }

                last = now;
                received++;
            }
        }) { IsBackground = true };
        receiver.Start();

        var target = new IPEndPoint(toAddress, ProbePort + 1);
        var payload = new byte[Size - 28];
        var packets = (int)(offeredBitsPerSecond * seconds / (Size * 8));
        var interval = Size * 8.0 / offeredBitsPerSecond;
        using var boost = Native.BoostFor();
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < packets && !ct.IsCancellationRequested; i++)
        {
            WaitUntil(start + (long)(i * interval * Stopwatch.Frequency));
            try
            {
                tx.SendTo(payload, target);
            }
            catch (SocketException)
            {
                // ENOBUFS under overload is a local drop; the receiver-side rate is what counts.
            }
        }

        Thread.Sleep(1500);
        rx.Close();
        receiver.Join(2000);
        var span = (last - first) / (double)Stopwatch.Frequency;
        return new DirectionMeasurement
        {
            Sent = packets,
            Received = received,
            RateBitsPerSecond = span > 0 ? bytes * 8 / span : 0,
        };
    }

    private static void WaitUntil(long due)
    {
        while (true)
        {
            var wait = due - Stopwatch.GetTimestamp();
            if (wait <= 0)
            {
                return;
            }

            if (wait > Stopwatch.Frequency / 500)
            {
                Thread.Sleep(1);
            }
            else
            {
                Thread.SpinWait(50);
            }
        }
    }

    private static double Percentile(List<double> sorted, double q)
        => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)(q * sorted.Count))];
}
