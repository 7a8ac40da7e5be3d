using System.Diagnostics;
using System.Globalization;
using System.Net;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Benchmarks;

/// <summary>
/// Bulk throughput over one stream between two processes on loopback. The parent runs the client and starts itself
/// as the server; each side reports its CPU time. Output: Gbit/s and CPU seconds per GB for each process.
/// </summary>
internal static class TransportThroughput
{
    private const int ChunkSize = 256 * 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        var engineName = Option(args, "--engine") ?? "ngtcp2";
        var cc = Option(args, "--cc") ?? "bbr";
        var congestion = cc switch
        {
            "cubic" => CongestionControlAlgorithm.Cubic,
            "reno" => CongestionControlAlgorithm.Reno,
            _ => CongestionControlAlgorithm.Bbr,
        };
        return args[0] == "transport-throughput-server"
            ? await ServerAsync(engineName, congestion, Option(args, "--trust-pin")!)
            : await ClientAsync(engineName, congestion, ParseSize(Option(args, "--bytes") ?? "2G"), cc);
    }

    private static async Task<int> ClientAsync(string engineName, CongestionControlAlgorithm congestion, long bytes, string cc)
    {
        var engine = TransportEngines.Resolve(engineName);
        if (!engine.IsSupported)
        {
            throw new PlatformNotSupportedException(engine.UnsupportedReason);
        }

        var identity = EndpointIdentities.CreateSelfSigned("bench-client");
        var info = new ProcessStartInfo(Environment.ProcessPath!)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal))
        {
            info.ArgumentList.Add(typeof(TransportThroughput).Assembly.Location);
        }

        foreach (var a in new[] { "transport-throughput-server", "--engine", engineName, "--cc", congestion.ToString().ToLowerInvariant(), "--trust-pin", EndpointIdentities.ComputeSpkiSha256Hex(identity.CertificatePem) })
        {
            info.ArgumentList.Add(a);
        }

        using var server = Process.Start(info)!;
        try
        {
            var hello = (await server.StandardOutput.ReadLineAsync())!.Split(' ');
            var options = new TransportClientOptions
            {
                RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(hello[1], CultureInfo.InvariantCulture)),
                Identity = identity,
                PeerTrust = new PeerTrust { PinnedSpkiSha256 = [Convert.FromHexString(hello[2])] },
                CongestionControl = congestion,
            };
            await using var connection = await engine.ConnectAsync(options);
            var stream = await connection.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Lowest);
            var chunk = new byte[ChunkSize];
            new Random(1).NextBytes(chunk);

            var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
            var allocated0 = GC.GetTotalAllocatedBytes(true);
            var watch = Stopwatch.StartNew();
            for (var sent = 0L; sent < bytes; sent += ChunkSize)
            {
                await stream.WriteAsync(chunk.AsMemory(0, (int)Math.Min(ChunkSize, bytes - sent)));
            }

            stream.CompleteWrites();
            var reply = new byte[64];
            var n = await stream.ReadAsync(reply);
            var elapsed = watch.Elapsed;
            var clientCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
            var allocated = GC.GetTotalAllocatedBytes(true) - allocated0;
            var serverReport = System.Text.Encoding.ASCII.GetString(reply, 0, n).Split(' ');
            var received = long.Parse(serverReport[0], CultureInfo.InvariantCulture);
            var serverCpu = double.Parse(serverReport[1], CultureInfo.InvariantCulture);
            var serverAllocated = long.Parse(serverReport[2], CultureInfo.InvariantCulture);
            var stats = connection.StatisticsOrDefault();
            var gb = bytes / 1e9;
            Console.WriteLine($"engine {engine.Version}, cc {cc}, {bytes / 1e6:F0} MB in {elapsed.TotalSeconds:F2} s: {bytes * 8 / elapsed.TotalSeconds / 1e9:F2} Gbit/s (server received {received} bytes)");
            Console.WriteLine($"client CPU {clientCpu:F2} s = {clientCpu / gb:F2} CPU-s/GB; server CPU {serverCpu:F2} s = {serverCpu / gb:F2} CPU-s/GB");
            Console.WriteLine($"managed allocations during the transfer: client {allocated} bytes ({(double)allocated / stats.PacketsSent:F2} B/packet sent), server {serverAllocated} bytes ({(double)serverAllocated / stats.PacketsSent:F2} B/packet received), server gen0 GCs {serverReport[3]}");
            Console.WriteLine($"client stats: srtt {stats.SmoothedRtt?.TotalMilliseconds:F2} ms, cwnd {stats.CongestionWindow}, packets sent {stats.PacketsSent}, received {stats.PacketsReceived}");
            await connection.CloseAsync(0);
            return received == bytes ? 0 : 1;
        }
        finally
        {
            server.StandardInput.Close();
            if (!server.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                server.Kill(true);
            }
        }
    }

    private static async Task<int> ServerAsync(string engineName, CongestionControlAlgorithm congestion, string pin)
    {
        var engine = TransportEngines.Resolve(engineName);
        var identity = EndpointIdentities.CreateSelfSigned("bench-server");
        await using var listener = await engine.ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = identity,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [Convert.FromHexString(pin)] },
            CongestionControl = congestion,
        });
        Console.WriteLine($"LISTEN {listener.LocalEndPoint.Port} {EndpointIdentities.ComputeSpkiSha256Hex(identity.CertificatePem)}");
        Console.Out.Flush();
        await using var connection = await listener.AcceptAsync();
        var stream = await connection.AcceptStreamAsync();
        var buffer = new byte[ChunkSize];
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated0 = GC.GetTotalAllocatedBytes(true);
        var gc0 = GC.CollectionCount(0);
        long total = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(true) - allocated0;
        var gcs = GC.CollectionCount(0) - gc0;
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{total} {cpu:F3} {allocated} {gcs}")), true);
        await connection.Closed.WaitAsync(TimeSpan.FromSeconds(30));
        return 0;
    }

    internal static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    internal static long ParseSize(string text)
    {
        var multiplier = char.ToUpperInvariant(text[^1]) switch
        {
            'K' => 1L << 10,
            'M' => 1L << 20,
            'G' => 1L << 30,
            _ => 1L,
        };
        var digits = multiplier == 1 ? text : text[..^1];
        return long.Parse(digits, CultureInfo.InvariantCulture) * multiplier;
    }
}
