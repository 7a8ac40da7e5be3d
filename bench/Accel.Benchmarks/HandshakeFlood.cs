using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Tests.Transport;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Accel.Core.Transport.Tls;

namespace Accel.Benchmarks;

/// <summary>
/// A handshake flood against an ngtcp2 listener in a child process, on loopback: distinct real Initial packets (ngtcp2's
/// client wrote each) sent at a fixed rate from many source ports that never answer, as a spoofed-source flood does,
/// while a real client connects once a second. Reports the listener process's CPU, threads and memory, what its
/// admission did, and the live client's handshake times before and during the flood. Bounded: it stops by itself.
/// </summary>
internal static class HandshakeFlood
{
    private const int Sources = 256;

    public static async Task<int> RunAsync(string[] args)
    {
        var retry = TransportThroughput.Option(args, "--retry") ?? "automatic";
        if (args[0] == "handshake-flood-server")
        {
            return await ServerAsync(retry, int.Parse(TransportThroughput.Option(args, "--max-half-open") ?? "256", CultureInfo.InvariantCulture), TransportThroughput.Option(args, "--trust-pin")!);
        }

        var rate = int.Parse(TransportThroughput.Option(args, "--rate") ?? "5000", CultureInfo.InvariantCulture);
        var seconds = int.Parse(TransportThroughput.Option(args, "--seconds") ?? "20", CultureInfo.InvariantCulture);
        var distinct = int.Parse(TransportThroughput.Option(args, "--distinct") ?? "20000", CultureInfo.InvariantCulture);
        var maxHalfOpen = TransportThroughput.Option(args, "--max-half-open") ?? "256";
        var identity = EndpointIdentities.CreateSelfSigned("bench-client");
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal))
        {
            info.ArgumentList.Add(typeof(HandshakeFlood).Assembly.Location);
        }

        foreach (var a in new[] { "handshake-flood-server", "--retry", retry, "--max-half-open", maxHalfOpen, "--trust-pin", EndpointIdentities.ComputeSpkiSha256Hex(identity.CertificatePem) })
        {
            info.ArgumentList.Add(a);
        }

        using var server = Process.Start(info)!;
        try
        {
            var hello = (await server.StandardOutput.ReadLineAsync())!.Split(' ');
            var endPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(hello[1], CultureInfo.InvariantCulture));
            var client = new TransportClientOptions
            {
                RemoteEndPoint = endPoint,
                Identity = identity,
                PeerTrust = new PeerTrust { PinnedSpkiSha256 = [Convert.FromHexString(hello[2])] },
                HandshakeTimeout = TimeSpan.FromSeconds(10),
            };
            Console.WriteLine($"generating {distinct} Initials …");
            var initials = await ForgedInitials.CreateAsync(endPoint, identity, distinct);
            var baseline = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                baseline.Add(await HandshakeMillisecondsAsync(client));
            }

            var before = await ReportAsync(server);
            var live = new List<double>();
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            var liveTask = LiveClientAsync(client, live, stop.Token);
            var sent = Flood(endPoint, initials, rate, stop.Token);
            var after = await ReportAsync(server);
            await liveTask;

            var cpu = after.Cpu - before.Cpu;
            Console.WriteLine($"retry {retry}, max half-open {maxHalfOpen}: {sent} Initials in {seconds} s ({sent / (double)seconds:F0}/s, {distinct} distinct, {Sources} source ports)");
            Console.WriteLine($"listener process: CPU {cpu:F2} s ({100 * cpu / seconds:F0} % of one core), threads {before.Threads} -> {after.Threads}, RSS {before.Rss / 1e6:F0} -> {after.Rss / 1e6:F0} MB");
            Console.WriteLine($"admission: admitted {after.Admitted - before.Admitted}, retries {after.Retries - before.Retries}, dropped at cap {after.Dropped - before.Dropped}, invalid tokens {after.Invalid - before.Invalid}, half-open at end {after.HalfOpen}");
            Console.WriteLine($"live handshakes: before the flood {Summary(baseline)}; during it {Summary(live)}");
            return 0;
        }
        finally
        {
            server.StandardInput.Close();
            if (!server.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                server.Kill(true);
            }
        }
    }

    private static string Summary(List<double> ms)
    {
        var ok = ms.Where(static m => m >= 0).Order().ToList();
        return ok.Count == 0
            ? $"0 of {ms.Count} succeeded"
            : string.Create(CultureInfo.InvariantCulture, $"{ok.Count} of {ms.Count} succeeded, median {ok[ok.Count / 2]:F1} ms, max {ok[^1]:F1} ms");
    }

    private static async Task<double> HandshakeMillisecondsAsync(TransportClientOptions client)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await using var connection = await new Ngtcp2Engine().ConnectAsync(client);
            var ms = watch.Elapsed.TotalMilliseconds;
            await connection.CloseAsync(0);
            return ms;
        }
        catch (TransportException)
        {
            return -1;
        }
    }

    private static async Task LiveClientAsync(TransportClientOptions client, List<double> times, CancellationToken stop)
    {
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await tick.WaitForNextTickAsync(CancellationToken.None) && !stop.IsCancellationRequested)
        {
            times.Add(await HandshakeMillisecondsAsync(client));
        }
    }

    /// <summary>Sends the Initials round-robin from <see cref="Sources"/> sockets, paced per millisecond, until stopped.</summary>
    internal static long Flood(IPEndPoint server, List<byte[]> initials, int rate, CancellationToken stop)
    {
        var sockets = new Socket[Sources];
        for (var i = 0; i < Sources; i++)
        {
            sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            sockets[i].Bind(new IPEndPoint(IPAddress.Loopback, 0));
        }

        var watch = Stopwatch.StartNew();
        long sent = 0;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var due = (long)(watch.Elapsed.TotalSeconds * rate);
                for (; sent < due; sent++)
                {
                    sockets[sent % Sources].SendTo(initials[(int)(sent % initials.Count)], SocketFlags.None, server);
                }

                Thread.Sleep(1); // pacing of the generator only; nothing waits on the listener
            }
        }
        finally
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }
        }

        return sent;
    }

    private readonly record struct Report(double Cpu, int Threads, long Rss, long Admitted, long Retries, long Dropped, long Invalid, int HalfOpen);

    private static async Task<Report> ReportAsync(Process server)
    {
        await server.StandardInput.WriteLineAsync("REPORT");
        await server.StandardInput.FlushAsync();
        var f = (await server.StandardOutput.ReadLineAsync())!.Split(' ');
        return new Report(double.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture),
            long.Parse(f[3], CultureInfo.InvariantCulture), long.Parse(f[4], CultureInfo.InvariantCulture), long.Parse(f[5], CultureInfo.InvariantCulture),
            long.Parse(f[6], CultureInfo.InvariantCulture), int.Parse(f[7], CultureInfo.InvariantCulture));
    }

    private static async Task<int> ServerAsync(string retry, int maxHalfOpen, string pin)
    {
        var identity = EndpointIdentities.CreateSelfSigned("bench-server");
        await using var listener = (Ngtcp2Listener)await new Ngtcp2Engine().ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = identity,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [Convert.FromHexString(pin)] },
            MaxHalfOpenConnections = maxHalfOpen,
            Retry = retry switch { "off" => ListenerRetryMode.Off, "always" => ListenerRetryMode.Always, _ => ListenerRetryMode.Automatic },
        });
        Console.WriteLine($"LISTEN {listener.LocalEndPoint.Port} {EndpointIdentities.ComputeSpkiSha256Hex(identity.CertificatePem)}");
        Console.Out.Flush();
        using var done = new CancellationTokenSource();
        var accepting = AcceptAllAsync(listener, done.Token);
        while (await Console.In.ReadLineAsync() is not null)
        {
            using var self = Process.GetCurrentProcess();
            var c = listener.Admission.Counters;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{self.TotalProcessorTime.TotalSeconds:F3} {self.Threads.Count} {self.WorkingSet64} {c.Admitted} {c.Retries} {c.DroppedAtCap} {c.InvalidTokens} {listener.Admission.HalfOpen}"));
            Console.Out.Flush();
        }

        await done.CancelAsync();
        await accepting;
        return 0;
    }

    private static async Task AcceptAllAsync(ITransportListener listener, CancellationToken stop)
    {
        try
        {
            while (true)
            {
                var connection = await listener.AcceptAsync(stop);
                _ = connection.Closed.ContinueWith(_ => connection.DisposeAsync().AsTask(), TaskScheduler.Default);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
