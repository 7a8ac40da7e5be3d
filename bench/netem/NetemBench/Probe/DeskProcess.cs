using System.Collections.Concurrent;
using NetemLink;

namespace NetemBench.Probe;

/// <summary>
/// One NetemDesk program (X11 workload or watcher) running on the Xspice display inside the data-centre namespace.
/// It prints "ready" once its window is drawn; every other stdout line is kept for the caller.
/// </summary>
internal sealed class DeskProcess : IDisposable
{
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<string> _lines = new();
    private NsProcess _process = null!;

    public static async Task<DeskProcess> StartAsync(XspiceServer xspice, string logDir, string verb, string[] args, CancellationToken ct)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "NetemDesk.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing (NetemBench references NetemDesk: rebuild bench/netem/NetemBench)");
        }

        var desk = new DeskProcess();
        desk._process = NsProcess.StartWatched("desk-" + verb, xspice.Namespace, Path.Combine(logDir, $"desk-{verb}.log"), xspice.Env, desk.OnLine,
            ["dotnet", dll, verb, "--display", ":" + xspice.Display, .. args]);
        try
        {
            await desk._ready.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        }
        catch (TimeoutException)
        {
            desk.Dispose();
            throw new TimeoutException($"NetemDesk {verb} did not report ready within 30 s (log: {logDir}/desk-{verb}.log)");
        }
        catch
        {
            desk.Dispose();
            throw;
        }

        return desk;
    }

    private void OnLine(string line)
    {
        if (line == "ready")
        {
            _ready.TrySetResult();
        }
        else
        {
            _lines.Enqueue(line);
        }
    }

    public bool HasExited => _process.HasExited;

    public double CpuSeconds() => _process.CpuSeconds();

    public List<string> Lines() => [.. _lines];

    public void Dispose() => _process.Dispose();
}
