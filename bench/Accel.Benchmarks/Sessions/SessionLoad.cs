using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Tests.Transport;
using Accel.Core.Transport.Tls;
using SpiceAccel.BenchSupport;

namespace Accel.Benchmarks.Sessions;

/// <summary>
/// Sessions through the real daemons (a server edge and a client edge, both <c>spiceaccel</c> child processes on
/// loopback), their SPICE ends played by <see cref="BenchSession"/>. Two runs:
/// <list type="bullet">
/// <item><c>sessions</c>: N active sessions typing beside display traffic, in phases — baseline; M stalled clients that
/// never read added beside them (until the edges close them with the stall timeout); optionally a handshake flood of
/// spoofed sources at the server edge's port; after. Per phase: key-to-echo of the active sessions, the daemons' peak
/// resident memory, threads, descriptors and CPU.</item>
/// <item><c>sessions-soak</c>: K sessions coming and going for MINUTES; the daemons sampled every 10 s; at the end the
/// memory, threads and descriptors against the start, and again once every session has gone.</item>
/// </list>
/// Bounded in time and count; stops the daemons and closes every socket at the end.
/// </summary>
internal static class SessionLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Opt(string name) => TransportThroughput.Option(args, name);
        double Num(string name, double fallback) => Opt(name) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var options = new SessionOptions(1024, 768, (int)Num("--draw-size", 64), Num("--draw-rate", 20), Num("--key-interval", 200));
        var engine = Opt("--engine") ?? "ngtcp2";
        var stallTimeout = TimeSpan.FromSeconds(Num("--stall-timeout", 10));
        var extra = Opt("--edge-args")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

        var dll = EdgeDaemon.Locate(Opt("--spiceaccel-dll"));
        var keys = Directory.CreateTempSubdirectory("spiceaccel-bench-sessions-").FullName;
        try
        {
            var serverPin = SpiceAccelBuild.Keygen(dll, keys, "server");
            var clientPin = SpiceAccelBuild.Keygen(dll, keys, "client");
            var udp = EdgeDaemon.FreePort(SocketType.Dgram);
            var proxy = EdgeDaemon.FreePort(SocketType.Stream);
            string[] common = [$"--Transport:Engine={engine}", "--Logging:LogLevel:Default=Information", $"--Limits:StallTimeout={stallTimeout:c}", .. extra];
            await using var server = await EdgeDaemon.StartAsync(dll, "server",
            [
                .. common, $"--Identity:CertificateFile={keys}/server.crt", $"--Identity:KeyFile={keys}/server.key",
                $"--Server:Listen=127.0.0.1:{udp}", $"--Server:ClientPins:bench={clientPin}", "--Server:AllowedBackends:0=127.0.0.1/32:1024-65535",
            ], TimeSpan.FromSeconds(60));
            await using var client = await EdgeDaemon.StartAsync(dll, "client",
            [
                .. common, $"--Identity:CertificateFile={keys}/client.crt", $"--Identity:KeyFile={keys}/client.key",
                $"--Client:ServerEdges:dc:Address=127.0.0.1:{udp}", $"--Client:ServerEdges:dc:Pins:0={serverPin}",
                "--Client:Listeners:0:Mode=Connect", $"--Client:Listeners:0:Listen=127.0.0.1:{proxy}", "--Client:Listeners:0:ServerEdge=dc",
            ], TimeSpan.FromSeconds(60));
            Console.WriteLine($"edges: {dll} ({engine}), server pid {server.Pid}, client pid {client.Pid}; stall timeout {stallTimeout.TotalSeconds:0} s; "
                + string.Create(CultureInfo.InvariantCulture, $"each session: a {options.DrawSize}² bitmap draw {options.DrawsPerSecond}/s, a key every {options.KeyIntervalMs} ms"));
            return args[0] == "sessions-soak"
                ? await SoakAsync(server, client, proxy, options, TimeSpan.FromMinutes(Num("--minutes", 30)), (int)Num("--sessions", 10))
                : await PhasesAsync(server, client, proxy, udp, options, (int)Num("--active", 20), (int)Num("--stalled", 8),
                    TimeSpan.FromSeconds(Num("--phase", 30)), stallTimeout, (int)Num("--flood-rate", 0), TimeSpan.FromSeconds(Num("--flood-seconds", 60)));
        }
        finally
        {
            Directory.Delete(keys, recursive: true);
        }
    }

    private static async Task<int> PhasesAsync(EdgeDaemon server, EdgeDaemon client, int proxy, int udp, SessionOptions options, int active, int stalled,
        TimeSpan phase, TimeSpan stallTimeout, int floodRate, TimeSpan floodTime)
    {
        var clock = Stopwatch.StartNew();
        var recorder = new KeyRecorder(clock);
        var sessions = new List<BenchSession>();
        using var sampler = new DaemonSampler(server, client);
        try
        {
            for (var i = 0; i < active; i++)
            {
                var s = new BenchSession(i + 1, options, recorder, stalled: false);
                sessions.Add(s);
                await s.StartAsync(proxy, clock);
            }

            await Task.Delay(TimeSpan.FromSeconds(5));
            var phases = new List<(string Name, double EndMs)>();
            async Task RunPhaseAsync(string name, TimeSpan length, Func<Task>? during = null)
            {
                recorder.Phase = name;
                sampler.Begin(name);
                var wait = Task.Delay(length);
                if (during is not null)
                {
                    await during();
                }

                await wait;
                phases.Add((name, clock.Elapsed.TotalMilliseconds));
            }

            await RunPhaseAsync("baseline", phase);

            var stalledFrom = clock.Elapsed;
            var stalledSessions = new List<BenchSession>();
            var stallPhase = TimeSpan.FromTicks(Math.Max(phase.Ticks, (stallTimeout + TimeSpan.FromSeconds(20)).Ticks));
            await RunPhaseAsync($"{stalled} stalled", stallPhase, async () =>
            {
                for (var i = 0; i < stalled; i++)
                {
                    var s = new BenchSession(1000 + i, options, recorder, stalled: true);
                    stalledSessions.Add(s);
                    sessions.Add(s);
                    await s.StartAsync(proxy, clock);
                }
            });

            if (floodRate > 0)
            {
                var identity = EndpointIdentities.CreateSelfSigned("bench-flood");
                var target = new IPEndPoint(IPAddress.Loopback, udp);
                var initials = await ForgedInitials.CreateAsync(target, identity, 20_000);
                var flood = Task.FromResult(0L);
                await RunPhaseAsync($"flood {floodRate}/s", floodTime, () =>
                {
                    flood = Task.Factory.StartNew(
                        () =>
                        {
                            using var stop = new CancellationTokenSource(floodTime);
                            return HandshakeFlood.Flood(target, initials, floodRate, stop.Token);
                        },
                        TaskCreationOptions.LongRunning);
                    return Task.CompletedTask;
                });
                var sent = await flood;
                Console.WriteLine($"flood: {sent} forged Initials from 256 source ports at {floodRate}/s");
            }

            await RunPhaseAsync("after", phase);
            await Task.Delay(TimeSpan.FromSeconds(5)); // the last keys' echoes
            var end = clock.Elapsed.TotalMilliseconds;

            Console.WriteLine();
            Console.WriteLine($"{active} active sessions (display + inputs), {stalled} stalled display clients; per phase:");
            foreach (var (name, endMs) in phases)
            {
                Console.WriteLine($"  {name,-16} {recorder.Summary(name, Math.Min(end, endMs + 5000))}");
                Console.WriteLine($"  {"",-16} {sampler.Report(name)}");
            }

            var clientStalls = await client.MetricAsync("spiceaccel_errors_total", "stalled_reader");
            var serverStalls = await server.MetricAsync("spiceaccel_errors_total", "stalled_reader");
            var closed = stalledSessions.Where(s => s.ServerSideClosedAt is not null).Select(s => (s.ServerSideClosedAt!.Value - stalledFrom).TotalSeconds).Order().ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"stalled: {closed.Count} of {stalled} closed by the edges ({(closed.Count > 0 ? $"{closed[0]:F1}–{closed[^1]:F1} s after they stopped reading" : "none")}); "
                + $"client edge log lines naming Limits:StallTimeout: {client.CountLog("Limits:StallTimeout")}; "
                + $"spiceaccel_errors_total{{kind=\"stalled_reader\"}} client {clientStalls:0} / server {serverStalls:0}"));
            foreach (var line in client.LogLines("Limits:StallTimeout").Take(1))
            {
                Console.WriteLine("  e.g. " + line.Trim());
            }

            Console.WriteLine($"daemons up at the end: server {!server.HasExited}, client {!client.HasExited}");
            return server.HasExited || client.HasExited ? 1 : 0;
        }
        finally
        {
            foreach (var s in sessions)
            {
                await s.DisposeAsync();
            }
        }
    }

    private static async Task<int> SoakAsync(EdgeDaemon server, EdgeDaemon client, int proxy, SessionOptions options, TimeSpan length, int concurrent)
    {
        var clock = Stopwatch.StartNew();
        var recorder = new KeyRecorder(clock);
        var rng = new Random(7);
        var alive = new List<(BenchSession Session, TimeSpan Until)>();
        var next = 1;
        var windows = new List<string>();
        var samples = new List<(double Minutes, ProcSample Server, ProcSample Client, double ServerHeap, double ClientHeap)>();
        var nextSample = TimeSpan.Zero;
        try
        {
            while (clock.Elapsed < length)
            {
                var window = $"minutes {(int)(clock.Elapsed.TotalMinutes / 5) * 5}–{((int)(clock.Elapsed.TotalMinutes / 5) * 5) + 5}";
                if (recorder.Phase != window)
                {
                    recorder.Phase = window;
                    windows.Add(window);
                }

                foreach (var (s, _) in alive.Where(a => a.Until <= clock.Elapsed).ToList())
                {
                    alive.RemoveAll(a => a.Session == s);
                    s.Quiet = true;
                    _ = Task.Delay(TimeSpan.FromSeconds(3)).ContinueWith(_ => s.DisposeAsync().AsTask(), TaskScheduler.Default).Unwrap();
                }

                while (alive.Count < concurrent)
                {
                    var s = new BenchSession(next++, options, recorder, stalled: false);
                    alive.Add((s, clock.Elapsed + TimeSpan.FromSeconds(10 + (30 * rng.NextDouble()))));
                    await s.StartAsync(proxy, clock);
                }

                if (clock.Elapsed >= nextSample)
                {
                    var (sv, cl) = (server.Sample(), client.Sample());
                    var (sh, ch) = (await server.MetricAsync("dotnet_total_memory_bytes"), await client.MetricAsync("dotnet_total_memory_bytes"));
                    samples.Add((clock.Elapsed.TotalMinutes, sv, cl, sh, ch));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{clock.Elapsed.TotalMinutes,5:F1} min  sessions {next - 1,5} started, {alive.Count} alive  server {Line(sv)}, heap {sh / 1e6,3:F0} MB  client {Line(cl)}, heap {ch / 1e6,3:F0} MB"));
                    nextSample += TimeSpan.FromSeconds(10);
                }

                await Task.Delay(200);
            }
        }
        finally
        {
            // As every session ends: no more keys, the last ones' echoes, then close.
            foreach (var (s, _) in alive)
            {
                s.Quiet = true;
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
            foreach (var (s, _) in alive)
            {
                await s.DisposeAsync();
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(15));
        var drained = (server.Sample(), client.Sample());
        var end = clock.Elapsed.TotalMilliseconds;
        Console.WriteLine();
        Console.WriteLine($"{next - 1} sessions in {length.TotalMinutes:0} min, {concurrent} at a time, each 10–40 s; key-to-echo per window:");
        foreach (var w in windows)
        {
            Console.WriteLine($"  {w,-16} {recorder.Summary(w, end)}");
        }

        // The start is the first sample after two minutes (runtimes warmed, pools filled); the end is the last sample.
        var start = samples.FirstOrDefault(s => s.Minutes >= 2, samples[0]);
        var last = samples[^1];
        var drainedHeap = (await server.MetricAsync("dotnet_total_memory_bytes"), await client.MetricAsync("dotnet_total_memory_bytes"));
        foreach (var (name, a, b, d, ha, hb, hd) in new[]
        {
            ("server", start.Server, last.Server, drained.Item1, start.ServerHeap, last.ServerHeap, drainedHeap.Item1),
            ("client", start.Client, last.Client, drained.Item2, start.ClientHeap, last.ClientHeap, drainedHeap.Item2),
        })
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name} edge: RSS {a.Rss / 1e6:F0} MB at {start.Minutes:F0} min -> {b.Rss / 1e6:F0} MB at the end ({(b.Rss - a.Rss) * 100.0 / a.Rss:+0.0;-0.0} %), "
                + $"peak {samples.Max(s => (name == "server" ? s.Server : s.Client).Rss) / 1e6:F0} MB; managed heap {ha / 1e6:F0} -> {hb / 1e6:F0} MB; "
                + $"threads {a.Threads} -> {b.Threads}; fds {a.Fds} -> {b.Fds}; "
                + $"with every session gone: threads {d.Threads}, fds {d.Fds}, RSS {d.Rss / 1e6:F0} MB, heap {hd / 1e6:F0} MB"));
        }

        return server.HasExited || client.HasExited ? 1 : 0;
    }

    private static string Line(ProcSample s) => string.Create(CultureInfo.InvariantCulture, $"RSS {s.Rss / 1e6,4:F0} MB, {s.Threads,3} threads, {s.Fds,4} fds, CPU {s.CpuSeconds,7:F1} s");

    /// <summary>Samples both daemons every 500 ms; per phase their peak memory, threads, descriptors and CPU used.</summary>
    private sealed class DaemonSampler : IDisposable
    {
        private readonly EdgeDaemon _server;
        private readonly EdgeDaemon _client;
        private readonly Timer _timer;
        private readonly Lock _lock = new();
        private readonly Dictionary<string, (PhaseSpan Server, PhaseSpan Client)> _phases = [];
        private string? _phase;

        public DaemonSampler(EdgeDaemon server, EdgeDaemon client)
        {
            _server = server;
            _client = client;
            _timer = new Timer(_ => Tick(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(500));
        }

        public void Begin(string phase)
        {
            lock (_lock)
            {
                _phase = phase;
            }

            Tick();
        }

        public string Report(string phase)
        {
            lock (_lock)
            {
                var (server, client) = _phases[phase];
                return $"server edge {server}; client edge {client}";
            }
        }

        public void Dispose() => _timer.Dispose();

        private void Tick()
        {
            var (s, c) = (_server.Sample(), _client.Sample());
            lock (_lock)
            {
                if (_phase is null)
                {
                    return;
                }

                _phases[_phase] = _phases.TryGetValue(_phase, out var p) ? (p.Server.With(s), p.Client.With(c)) : (new(s, s, s), new(c, c, c));
            }
        }
    }

    /// <summary>One daemon over one phase: its first and last samples and the peak of each figure.</summary>
    private readonly record struct PhaseSpan(ProcSample First, ProcSample Last, ProcSample Peak)
    {
        public PhaseSpan With(ProcSample s) => new(First, s, new(Math.Max(Peak.Rss, s.Rss), Math.Max(Peak.Threads, s.Threads), Math.Max(Peak.Fds, s.Fds), s.CpuSeconds));

        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"RSS peak {Peak.Rss / 1e6:F0} MB, threads peak {Peak.Threads}, fds peak {Peak.Fds}, CPU {Last.CpuSeconds - First.CpuSeconds:F1} s");
    }
}
