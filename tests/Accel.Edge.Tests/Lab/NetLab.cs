using System.Diagnostics;
using System.Globalization;

namespace Accel.Edge.Tests.Lab;

/// <summary>
/// Three network namespaces of our own: the branch (SPICE client + client edge), the data centre (server edge) and
/// the backend (Xspice). branch ↔ dc over one veth pair (the "WAN"), dc ↔ backend over another. The branch has no
/// route to the backend, so a SPICE connection from the branch can only succeed through the edges.
/// Names carry the creating process id; namespaces of dead test runs are removed first.
/// </summary>
internal sealed class NetLab : IAsyncDisposable
{
    public const string Prefix = "sa-e2e-";

    private readonly List<Process> _processes = [];

    private NetLab(string id, int subnet)
    {
        Branch = $"{Prefix}{id}-br";
        Dc = $"{Prefix}{id}-dc";
        Backend = $"{Prefix}{id}-be";
        BranchIp = $"10.251.{subnet}.1";
        DcWanIp = $"10.251.{subnet}.2";
        DcLanIp = $"10.252.{subnet}.1";
        BackendIp = $"10.252.{subnet}.2";
    }

    public string Branch { get; }

    public string Dc { get; }

    public string Backend { get; }

    public string BranchIp { get; }

    public string DcWanIp { get; }

    public string DcLanIp { get; }

    public string BackendIp { get; }

    public static async Task<NetLab> CreateAsync()
    {
        await RemoveStaleAsync();
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var id = pid + "x" + Random.Shared.Next(100, 999).ToString(CultureInfo.InvariantCulture);
        var lab = new NetLab(id, Random.Shared.Next(1, 250));
        try
        {
            await lab.SetUpAsync();
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Starts Xvfb in <paramref name="ns"/> on a display it picks itself (-displayfd) and returns that display (":N") once
    /// it accepts clients: no display number collides with another run's, and no stale socket file (this machine keeps
    /// many in /tmp/.X11-unix) passes for a ready server.
    /// </summary>
    public async Task<(Process Process, string Display)> StartXvfbAsync(string ns, string screen, CancellationToken ct)
    {
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Start(ns, "Xvfb", ["-displayfd", "1", "-screen", "0", screen, "-nolisten", "tcp"], log: line => OnDisplayLine(line, ready));
        return (process, await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), ct));
    }

    /// <summary>The same in this process's namespace; the process is returned for the caller to end.</summary>
    public static async Task<(Process Process, string Display)> StartLocalXvfbAsync(string screen, CancellationToken ct)
    {
        var psi = new ProcessStartInfo("Xvfb") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in (string[])["-displayfd", "1", "-screen", "0", screen, "-nolisten", "tcp"])
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi)!;
        var ready = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) => OnDisplayLine(e.Data, ready);
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            return (process, await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), ct));
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    private static void OnDisplayLine(string? line, TaskCompletionSource<string> ready)
    {
        if (int.TryParse(line?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            ready.TrySetResult(":" + n.ToString(CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Starts a long-running process inside a namespace; killed on dispose. Output goes to <paramref name="log"/>.</summary>
    public Process Start(string ns, string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, Action<string>? log = null)
    {
        var psi = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])["netns", "exec", ns, file])
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var a in args)
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

        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + file);
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log?.Invoke(e.Data);
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                log?.Invoke(e.Data);
            }
        };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        lock (_processes)
        {
            _processes.Add(p);
        }

        return p;
    }

    public async ValueTask DisposeAsync()
    {
        Process[] all;
        lock (_processes)
        {
            all = [.. _processes];
            _processes.Clear();
        }

        foreach (var p in all)
        {
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await p.WaitForExitAsync(cts.Token);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
            }

            p.Dispose();
        }

        foreach (var ns in new[] { Branch, Dc, Backend })
        {
            await KillAllInAsync(ns);
            await Shell.RunAsync("ip", ["netns", "del", ns], check: false);
        }
    }

    private async Task SetUpAsync()
    {
        foreach (var ns in new[] { Branch, Dc, Backend })
        {
            await Shell.RunAsync("ip", ["netns", "add", ns]);
            await Shell.InNsAsync(ns, "ip", "link", "set", "lo", "up");
        }

        // Interface names are per namespace once moved; create them with short unique names first.
        var tag = Random.Shared.Next(1000, 9999).ToString(CultureInfo.InvariantCulture);
        await Shell.RunAsync("ip", ["link", "add", "saw" + tag, "netns", Branch, "type", "veth", "peer", "name", "sawp" + tag, "netns", Dc]);
        await Shell.RunAsync("ip", ["link", "add", "sal" + tag, "netns", Dc, "type", "veth", "peer", "name", "salp" + tag, "netns", Backend]);
        await Shell.InNsAsync(Branch, "ip", "link", "set", "saw" + tag, "name", "wan0");
        await Shell.InNsAsync(Dc, "ip", "link", "set", "sawp" + tag, "name", "wan0");
        await Shell.InNsAsync(Dc, "ip", "link", "set", "sal" + tag, "name", "lan0");
        await Shell.InNsAsync(Backend, "ip", "link", "set", "salp" + tag, "name", "lan0");
        await Shell.InNsAsync(Branch, "ip", "addr", "add", BranchIp + "/30", "dev", "wan0");
        await Shell.InNsAsync(Dc, "ip", "addr", "add", DcWanIp + "/30", "dev", "wan0");
        await Shell.InNsAsync(Dc, "ip", "addr", "add", DcLanIp + "/30", "dev", "lan0");
        await Shell.InNsAsync(Backend, "ip", "addr", "add", BackendIp + "/30", "dev", "lan0");
        await Shell.InNsAsync(Branch, "ip", "link", "set", "wan0", "up");
        await Shell.InNsAsync(Dc, "ip", "link", "set", "wan0", "up");
        await Shell.InNsAsync(Dc, "ip", "link", "set", "lan0", "up");
        await Shell.InNsAsync(Backend, "ip", "link", "set", "lan0", "up");

        // The branch routes the backend's subnet towards the data centre (so a transparent redirect of locally made
        // connections happens: routing comes before the nat output hook), but the data centre does not forward:
        // a packet from the branch to the backend dies there. Only the edges connect the two.
        await Shell.InNsAsync(Branch, "ip", "route", "add", BackendIp + "/32", "via", DcWanIp);
        await Shell.InNsAsync(Dc, "sysctl", "-qw", "net.ipv4.ip_forward=0");
    }

    private static async Task KillAllInAsync(string ns)
    {
        var pids = await Shell.RunAsync("ip", ["netns", "pids", ns], check: false);
        foreach (var line in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                try
                {
                    using var p = Process.GetProcessById(pid);
                    p.Kill(entireProcessTree: true);
                }
                catch (ArgumentException)
                {
                }
                catch (InvalidOperationException)
                {
                }
            }
        }
    }

    /// <summary>Removes namespaces left by test runs whose process is gone (after a crash or a kill).</summary>
    private static async Task RemoveStaleAsync()
    {
        var list = await Shell.RunAsync("ip", ["netns", "list"], check: false);
        foreach (var line in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = line.Split(' ')[0];
            if (!name.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var pidText = name[Prefix.Length..].Split('x')[0];
            if (int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid != Environment.ProcessId && !Directory.Exists("/proc/" + pidText))
            {
                await KillAllInAsync(name);
                await Shell.RunAsync("ip", ["netns", "del", name], check: false);
            }
        }
    }
}
