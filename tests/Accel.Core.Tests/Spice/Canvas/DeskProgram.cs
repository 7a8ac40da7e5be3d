using System.Diagnostics;
using System.Globalization;

namespace Accel.Core.Tests.Spice.Canvas;

/// <summary>
/// A bench/netem NetemDesk program (animate, slideshow) on an Xspice display. It prints "ready" once its first frame is
/// on the X server; <see cref="StartAsync"/> returns then. Disposing kills it.
/// </summary>
internal sealed class DeskProgram : IDisposable
{
    private static readonly string s_desk = Path.Combine(AppContext.BaseDirectory, "NetemDesk.dll");
    private readonly Process _process;

    private DeskProgram(Process process) => _process = process;

    public static async Task<DeskProgram> StartAsync(int display, CancellationToken ct, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DISPLAY"] = ":" + display.ToString(CultureInfo.InvariantCulture);
        start.ArgumentList.Add(s_desk);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var program = new DeskProgram(Process.Start(start)!);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        program._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "ready")
            {
                ready.TrySetResult();
            }
        };
        program._process.BeginOutputReadLine();
        _ = program._process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
        }
        catch
        {
            program.Dispose();
            throw;
        }

        return program;
    }

    /// <summary>Waits for a program started with --seconds to end by itself.</summary>
    public Task WaitForExitAsync(TimeSpan timeout, CancellationToken ct) => _process.WaitForExitAsync(ct).WaitAsync(timeout, ct);

    /// <summary>Stops the program and waits until it has exited (its window is gone from the X server then).</summary>
    public async Task StopAsync(CancellationToken ct)
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }
}
