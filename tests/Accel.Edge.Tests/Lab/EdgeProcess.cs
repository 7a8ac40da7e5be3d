using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Accel.Edge.Tests.Lab;

/// <summary>
/// The real daemon (spiceaccel.dll) as a child process in a namespace, started the way systemd starts a
/// Type=notify service: NOTIFY_SOCKET points at a datagram socket of ours and readiness is READY=1 on it.
/// </summary>
internal sealed class EdgeProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _log = new();
    private readonly SemaphoreSlim _logged = new(0);
    private readonly Socket _notify;
    private readonly string _notifyPath;
    private Process? _process;

    private EdgeProcess(string name, string? notifyDirectory = null)
    {
        Name = name;
        _notifyPath = Path.Combine(notifyDirectory ?? Path.GetTempPath(), $"sa-notify-{Environment.ProcessId}-{Guid.NewGuid():N}.sock");
        _notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _notify.Bind(new UnixDomainSocketEndPoint(_notifyPath));

        // An unprivileged service must be able to send to it, as it can to systemd's.
        File.SetUnixFileMode(_notifyPath, (UnixFileMode)0x1B6);
    }

    /// <summary>The NOTIFY_SOCKET path (for commands built by hand).</summary>
    public string NotifyPath => _notifyPath;

    /// <summary>
    /// Starts a hand-built shell command in <paramref name="ns"/>; <paramref name="command"/> gets the notify socket
    /// path and returns the command line. Waits for READY=1.
    /// </summary>
    public static async Task<EdgeProcess> StartShellAsync(NetLab lab, string ns, string name, string notifyDirectory, Func<string, string> command, TimeSpan timeout)
    {
        var edge = new EdgeProcess(name, notifyDirectory);
        try
        {
            var env = new Dictionary<string, string> { ["NOTIFY_SOCKET"] = edge._notifyPath, ["DOTNET_NOLOGO"] = "1" };
            edge._process = lab.Start(ns, "sh", ["-c", command(edge._notifyPath)], env, edge.Append);
            await edge.WaitReadyAsync(timeout);
            return edge;
        }
        catch
        {
            await edge.DisposeAsync();
            throw;
        }
    }

    public string Name { get; }

    public string Log => string.Join('\n', _log);

    public bool HasExited => _process?.HasExited ?? true;

    public int ExitCode => _process?.ExitCode ?? -1;

    /// <summary>The daemon's process id (sh exec's into dotnet) when started outside a namespace.</summary>
    public int Pid => _process?.Id ?? 0;

    public static string DllPath
    {
        get
        {
            var local = Path.Combine(AppContext.BaseDirectory, "spiceaccel.dll");
            if (File.Exists(local) && File.Exists(Path.Combine(AppContext.BaseDirectory, "spiceaccel.runtimeconfig.json")))
            {
                return local;
            }

            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SpiceAccel.sln")))
            {
                dir = dir.Parent;
            }

            var built = Path.Combine(dir?.FullName ?? ".", "src", "Accel.Edge", "bin", "Release", "net10.0", "spiceaccel.dll");
            return File.Exists(built) ? built : throw new FileNotFoundException("spiceaccel.dll not found; build the solution first", built);
        }
    }

    /// <summary>Starts <c>spiceaccel ROLE --config FILE</c> in <paramref name="ns"/> (null: this namespace) and waits for READY=1.</summary>
    public static async Task<EdgeProcess> StartAsync(NetLab? lab, string? ns, string name, string role, string configFile, TimeSpan timeout, params string[] extra)
    {
        var edge = new EdgeProcess(name);
        try
        {
            // SIGHUP at its default disposition, as systemd starts the edge: a test run under nohup (or any parent
            // that ignores SIGHUP) would otherwise pass the ignored signal on, and the edge could never be reloaded.
            var command = new StringBuilder("SYSTEMD_EXEC_PID=$$ exec env --default-signal=HUP dotnet ");
            foreach (var a in (string[])[DllPath, role, "--config", configFile, .. extra])
            {
                command.Append('\'').Append(a.Replace("'", "'\\''", StringComparison.Ordinal)).Append("' ");
            }

            var env = new Dictionary<string, string>
            {
                ["NOTIFY_SOCKET"] = edge._notifyPath,
                ["DOTNET_NOLOGO"] = "1",
                ["Logging__LogLevel__Default"] = "Debug",
            };
            if (lab is not null && ns is not null)
            {
                edge._process = lab.Start(ns, "sh", ["-c", command.ToString()], env, edge.Append);
            }
            else
            {
                var psi = new ProcessStartInfo("sh") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                psi.ArgumentList.Add("-c");
                psi.ArgumentList.Add(command.ToString());
                foreach (var (k, v) in env)
                {
                    psi.Environment[k] = v;
                }

                edge._process = Process.Start(psi)!;
                edge._process.OutputDataReceived += (_, e) => { if (e.Data is not null) { edge.Append(e.Data); } };
                edge._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { edge.Append(e.Data); } };
                edge._process.BeginOutputReadLine();
                edge._process.BeginErrorReadLine();
            }

            await edge.WaitReadyAsync(timeout);
            return edge;
        }
        catch
        {
            await edge.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until a log line matching <paramref name="predicate"/> has been written (event-driven by the log reader).</summary>
    public async Task<string> WaitForLogAsync(Func<string, bool> predicate, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            foreach (var line in _log)
            {
                if (predicate(line))
                {
                    return line;
                }
            }

            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"{Name}: expected log line not seen within {timeout.TotalSeconds} s. Log:\n{Log}");
            }

            // Woken by the next log line (or the deadline).
            await _logged.WaitAsync(timeout - sw.Elapsed > TimeSpan.Zero ? timeout - sw.Elapsed : TimeSpan.Zero);
        }
    }

    private void Append(string line)
    {
        _log.Enqueue(line);
        _logged.Release();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await _process.WaitForExitAsync(cts.Token);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
            }

            _process.Dispose();
        }

        _notify.Dispose();
        File.Delete(_notifyPath);
    }

    /// <summary>Stops the process with SIGTERM (as systemctl stop does) and returns its exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (_process is null || _process.HasExited)
        {
            return ExitCode;
        }

        // The child is "sh" exec'd into dotnet: same pid.
        await Shell.RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)], check: false);
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    private Task WaitReadyAsync(TimeSpan timeout) => WaitNotifyAsync("READY=1", timeout);

    /// <summary>Waits for the next sd_notify message that holds the line <paramref name="state"/> (e.g. WATCHDOG=1) and returns it.</summary>
    public async Task<string> WaitNotifyAsync(string state, TimeSpan timeout)
    {
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        var exited = _process!.WaitForExitAsync(cts.Token);
        while (true)
        {
            var receive = _notify.ReceiveAsync(buffer, SocketFlags.None, cts.Token).AsTask();
            var done = await Task.WhenAny(receive, exited);
            if (done == exited)
            {
                cts.Token.ThrowIfCancellationRequested();
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before {state}. Log:\n{Log}");
            }

            int n;
            try
            {
                n = await receive;
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Name}: no {state} within {timeout.TotalSeconds} s. Log:\n{Log}");
            }

            var message = Encoding.UTF8.GetString(buffer, 0, n);
            if (message.Split('\n').Contains(state))
            {
                return message;
            }
        }
    }
}
