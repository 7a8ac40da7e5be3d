using System.Diagnostics;

namespace NetemBench;

/// <summary>A long-running process started inside a namespace with <c>ip netns exec</c> (which execs, so the pid is the program's).</summary>
public sealed class NsProcess : IDisposable
{
    private readonly Process _process;

    private NsProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    public static NsProcess Start(string name, string ns, string logFile, IReadOnlyDictionary<string, string>? env, params string[] argv)
        => StartWatched(name, ns, logFile, env, null, argv);

    /// <summary>As <see cref="Start"/>, and every stdout line also goes to <paramref name="onStdoutLine"/> (on a pool thread).</summary>
    public static NsProcess StartWatched(string name, string ns, string logFile, IReadOnlyDictionary<string, string>? env, Action<string>? onStdoutLine, params string[] argv)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("netns");
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(ns);
        foreach (var a in argv)
        {
            psi.ArgumentList.Add(a);
        }

        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }

        var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {name}");
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var gate = new Lock();
        void Sink(object s, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                lock (gate)
                {
                    // Stamped on arrival (UTC), so a contender's log lines line up with the bench's own times.
                    log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {e.Data}");
                }
            }
        }

        p.OutputDataReceived += (s, e) =>
        {
            if (e.Data is not null)
            {
                onStdoutLine?.Invoke(e.Data);
            }

            Sink(s, e);
        };
        p.ErrorDataReceived += Sink;
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return new NsProcess(name, p);
    }

    /// <summary>user+system CPU seconds so far, from /proc (0 once the process is gone).</summary>
    public double CpuSeconds()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{Pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // fields[0] is state (field 3); utime is field 14, stime 15 → indices 11, 12.
            return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(3000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }

        _process.Dispose();
    }
}
