using System.Diagnostics;
using System.Globalization;
using System.Net;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Accel.Core.Transport.Tls;

namespace Accel.Benchmarks;

/// <summary>
/// An ngtcp2 listener in a child process holding <c>--connections</c> idle client connections (keep-alive every second)
/// opened by this process, on loopback. Reports the listener process's threads and resident memory before and after,
/// and the memory per connection. Bounded: every handshake has a timeout and it stops by itself.
/// </summary>
internal static class IdleConnections
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args[0] == "idle-connections-server")
        {
            return await ServerAsync(TransportThroughput.Option(args, "--trust-pin")!);
        }

        var count = int.Parse(TransportThroughput.Option(args, "--connections") ?? "2000", CultureInfo.InvariantCulture);
        var settle = int.Parse(TransportThroughput.Option(args, "--settle") ?? "10", CultureInfo.InvariantCulture);
        var identity = EndpointIdentities.CreateSelfSigned("bench-client");
        var info = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Environment.ProcessPath!.EndsWith("dotnet", StringComparison.Ordinal))
        {
            info.ArgumentList.Add(typeof(IdleConnections).Assembly.Location);
        }

        foreach (var a in new[] { "idle-connections-server", "--trust-pin", EndpointIdentities.ComputeSpkiSha256Hex(identity.CertificatePem) })
        {
            info.ArgumentList.Add(a);
        }

        using var server = Process.Start(info)!;
        var connections = new List<ITransportConnection>(count);
        try
        {
            var hello = (await server.StandardOutput.ReadLineAsync())!.Split(' ');
            var client = new TransportClientOptions
            {
                RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, int.Parse(hello[1], CultureInfo.InvariantCulture)),
                Identity = identity,
                PeerTrust = new PeerTrust { PinnedSpkiSha256 = [Convert.FromHexString(hello[2])] },
                HandshakeTimeout = TimeSpan.FromSeconds(30),
            };
            await Task.Delay(TimeSpan.FromSeconds(2));
            var before = await ReportAsync(server);
            var watch = Stopwatch.StartNew();
            var engine = new Ngtcp2Engine();
            using var gate = new SemaphoreSlim(16);
            var failed = 0;
            await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
            {
                await gate.WaitAsync();
                try
                {
                    var connection = await engine.ConnectAsync(client);
                    lock (connections)
                    {
                        connections.Add(connection);
                    }
                }
                catch (TransportException)
                {
                    Interlocked.Increment(ref failed);
                }
                finally
                {
                    gate.Release();
                }
            }));
            var opened = watch.Elapsed;
            await Task.Delay(TimeSpan.FromSeconds(2));
            var idleFrom = await ReportAsync(server);
            await Task.Delay(TimeSpan.FromSeconds(settle));
            var after = await ReportAsync(server);
            using var self = Process.GetCurrentProcess();
            var held = after.Connections - before.Connections;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{connections.Count} of {count} connected in {opened.TotalSeconds:F1} s ({failed} failed), then {settle + 2} s idle (keep-alive 1 s)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"listener process: threads {before.Threads} -> {after.Threads}, RSS {before.Rss / 1e6:F0} -> {after.Rss / 1e6:F0} MB, {held} connections held, {(after.Rss - before.Rss) / 1024.0 / Math.Max(1, held):F0} KB per connection"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"listener CPU while idle: {100 * (after.Cpu - idleFrom.Cpu) / settle:F1} % of one core over {settle} s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"client process: threads {self.Threads.Count}, RSS {self.WorkingSet64 / 1e6:F0} MB"));
            return 0;
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }

            server.StandardInput.Close();
            if (!server.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                server.Kill(true);
            }
        }
    }

    private readonly record struct Report(double Cpu, int Threads, long Rss, int Connections);

    private static async Task<Report> ReportAsync(Process server)
    {
        await server.StandardInput.WriteLineAsync("REPORT");
        await server.StandardInput.FlushAsync();
        var f = (await server.StandardOutput.ReadLineAsync())!.Split(' ');
        return new Report(double.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture), long.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture));
    }

    private static async Task<int> ServerAsync(string pin)
    {
        var identity = EndpointIdentities.CreateSelfSigned("bench-server");
        await using var listener = await new Ngtcp2Engine().ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = identity,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [Convert.FromHexString(pin)] },
            AcceptBacklog = 1024,
        });
        Console.WriteLine($"LISTEN {((Ngtcp2Listener)listener).LocalEndPoint.Port} {EndpointIdentities.ComputeSpkiSha256Hex(identity.CertificatePem)}");
        Console.Out.Flush();
        var held = 0;
        using var done = new CancellationTokenSource();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var connection = await listener.AcceptAsync(done.Token);
                    Interlocked.Increment(ref held);
                    _ = connection.Closed.ContinueWith(_ => { Interlocked.Decrement(ref held); return connection.DisposeAsync().AsTask(); }, TaskScheduler.Default);
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        while (await Console.In.ReadLineAsync() is not null)
        {
            GC.Collect();
            using var self = Process.GetCurrentProcess();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{self.TotalProcessorTime.TotalSeconds:F3} {self.Threads.Count} {self.WorkingSet64} {Volatile.Read(ref held)}"));
            Console.Out.Flush();
        }

        await done.CancelAsync();
        await accepting;
        return 0;
    }
}
