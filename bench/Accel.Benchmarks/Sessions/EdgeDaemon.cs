using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using SpiceAccel.BenchSupport;

namespace Accel.Benchmarks.Sessions;

/// <summary>
/// The real daemon (src/Accel.Edge's spiceaccel.dll, as the .deb runs it) as a child process: started with command-line
/// configuration, ready when its metrics endpoint answers <c>/ready</c>, read from /proc while it runs (resident memory,
/// threads, open descriptors, CPU time) and stopped at the end. Its log lines are kept for counting.
/// </summary>
internal sealed class EdgeDaemon : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _log = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private EdgeDaemon(string name, Process process, int metricsPort)
    {
        Name = name;
        _process = process;
        MetricsPort = metricsPort;
        _process.OutputDataReceived += (_, e) => Keep(e.Data);
        _process.ErrorDataReceived += (_, e) => Keep(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Name { get; }

    public int MetricsPort { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Log lines containing <paramref name="text"/>.</summary>
    public int CountLog(string text) => _log.Count(l => l.Contains(text, StringComparison.Ordinal));

    public IEnumerable<string> LogLines(string text) => _log.Where(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>The build output of src/Accel.Edge in the repository this benchmark runs from, or <paramref name="path"/>.</summary>
    public static string Locate(string? path)
    {
        if (path is not null)
        {
            return File.Exists(path) ? path : throw new FileNotFoundException($"--spiceaccel-dll {path} does not exist");
        }

        var dll = SpiceAccelBuild.DefaultDll();
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is not built (dotnet build SpiceAccel.sln -c Release)");
    }

    /// <summary>Starts <c>dotnet DLL ROLE ARGS… --Metrics:Listen=127.0.0.1:PORT</c> and waits until it is ready.</summary>
    public static async Task<EdgeDaemon> StartAsync(string dll, string role, IEnumerable<string> args, TimeSpan timeout)
    {
        var metricsPort = FreePort(SocketType.Stream);
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var a in new[] { dll, role }.Concat(args).Append($"--Metrics:Listen=127.0.0.1:{metricsPort}"))
        {
            psi.ArgumentList.Add(a);
        }

        var daemon = new EdgeDaemon(role, Process.Start(psi)!, metricsPort);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (daemon.HasExited)
            {
                throw new InvalidOperationException($"the {role} edge exited at start: " + string.Join('\n', daemon._log.Take(40)));
            }

            try
            {
                using var r = await daemon._http.GetAsync(new Uri($"http://127.0.0.1:{metricsPort}/ready"));
                if (r.IsSuccessStatusCode)
                {
                    return daemon;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await daemon.DisposeAsync();
        throw new TimeoutException($"the {role} edge was not ready within {timeout.TotalSeconds:0} s");
    }

    /// <summary>A port the kernel just handed out (closed again at once: the daemon binds it next).</summary>
    public static int FreePort(SocketType type)
    {
        using var s = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Dgram ? ProtocolType.Udp : ProtocolType.Tcp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    /// <summary>One sample of the process from /proc: resident memory, threads, descriptors, CPU seconds.</summary>
    public ProcSample Sample()
    {
        try
        {
            long rss = 0;
            var threads = 0;
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
                }
                else if (line.StartsWith("Threads:", StringComparison.Ordinal))
                {
                    threads = int.Parse(line.Split('\t', ' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                }
            }

            var fds = Directory.GetFileSystemEntries($"/proc/{Pid}/fd").Length;

            // utime and stime: fields 14 and 15, counted after the command name's closing parenthesis.
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return new ProcSample(rss, threads, fds, ticks / 100.0);
        }
        catch (IOException)
        {
            return default;
        }
    }

    /// <summary>
    /// A metric from the Prometheus text at /metrics, summed over its series whose labels contain
    /// <paramref name="label"/> (all when null; 0 when absent).
    /// </summary>
    public async Task<double> MetricAsync(string name, string? label = null)
    {
        var text = await _http.GetStringAsync(new Uri($"http://127.0.0.1:{MetricsPort}/metrics"));
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && (line.Length == name.Length || line[name.Length] is ' ' or '{')
                && (label is null || line.Contains(label, StringComparison.Ordinal)))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(static _ => { }, TaskScheduler.Default);
        }

        _process.Dispose();
        _http.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _log.Enqueue(line);
        while (_log.Count > 20_000 && _log.TryDequeue(out _))
        {
        }
    }
}

/// <summary>What /proc said of a process at one moment.</summary>
internal readonly record struct ProcSample(long Rss, int Threads, int Fds, double CpuSeconds);
