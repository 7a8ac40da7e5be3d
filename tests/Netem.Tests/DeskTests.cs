using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using NetemDesk;

namespace Netem.Tests;

/// <summary>NetemDesk's X11 programs on an Xvfb of their own (no namespaces needed).</summary>
public sealed class DeskTests
{
    private static readonly string s_desk = Path.Combine(AppContext.BaseDirectory, "NetemDesk.dll");

    [Fact]
    public async Task DeskAnimate_Running_FrameMarkerIsFreshAndContentMoves()
    {
        await using var x = await Xvfb.StartAsync();
        using var animate = await DeskRun.StartAsync(x.Display, "animate", "--geometry", "320x240+100+100", "--fps", "30");

        using var display = XDisplay.Open(x.Display);
        var marker = new byte[FrameMarker.Width * FrameMarker.Height * 4];
        display.Grab(new Region(100, 100, FrameMarker.Width, FrameMarker.Height), marker);
        Assert.True(FrameMarker.TryRead(MemoryMarshal.Cast<byte, uint>(marker), FrameMarker.Width, 0, 0, out var code, out var tag), "no marker in the window's corner");
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.InRange(now - FrameMarker.DrawnUnixMs(code, now)!.Value, 0, 250);
        Assert.Equal(0, tag);

        var before = new byte[200 * 150 * 4];
        var after = new byte[before.Length];
        display.Grab(new Region(150, 150, 200, 150), before);
        await Task.Delay(200, TestContext.Current.CancellationToken); // two grabs 200 ms apart: the content must differ
        display.Grab(new Region(150, 150, 200, 150), after);
        Assert.False(before.AsSpan().SequenceEqual(after), "the animation did not change in 200 ms");
    }

    [Fact]
    public async Task DeskSlideshow_ShortInterval_PhotosChangeAndCarryTheirNumberAndTime()
    {
        await using var x = await Xvfb.StartAsync();
        using var slideshow = await DeskRun.StartAsync(x.Display, "slideshow", "--interval-ms", "300", "--photos", "3");
        using var display = XDisplay.Open(x.Display);
        var region = new Region(200, 200, 300, 200);
        var first = new byte[region.Bytes];
        var next = new byte[region.Bytes];
        var marker = new byte[FrameMarker.Width * FrameMarker.Height * 4];
        display.Grab(region, first);

        // Each photo carries its number (the marker's tag) and the time it was drawn.
        var tags = new HashSet<int>();
        var changed = false;
        var age = -1L;
        var sw = Stopwatch.StartNew();
        while (!(changed && tags.Count >= 2 && age is >= 0 and <= 1000) && sw.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
            display.Grab(region, next);
            changed |= !first.AsSpan().SequenceEqual(next);
            display.Grab(new Region(0, 0, FrameMarker.Width, FrameMarker.Height), marker);
            if (FrameMarker.TryRead(MemoryMarshal.Cast<byte, uint>(marker), FrameMarker.Width, 0, 0, out var code, out var tag))
            {
                tags.Add(tag);
                var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                age = now - (FrameMarker.DrawnUnixMs(code, now) ?? now + 1);
            }
        }

        Assert.True(changed, "the photo was not replaced within 5 s");
        Assert.True(tags.Count >= 2 && tags.All(t => t is >= 0 and < 3), $"photo tags seen: {string.Join(",", tags)}");
        Assert.InRange(age, 0, 1000);
    }

    [Fact]
    public async Task DeskPointerWatch_XdotoolMoves_EachPositionReportedInOrder()
    {
        await using var x = await Xvfb.StartAsync();
        using var watch = await DeskRun.StartAsync(x.Display, "pointer-watch");
        foreach (var (px, py) in new[] { (10, 20), (300, 200), (700, 500) })
        {
            await XCommand.RunAsync(x.Display, "xdotool", "mousemove", px.ToString(CultureInfo.InvariantCulture), py.ToString(CultureInfo.InvariantCulture));
        }

        var expected = new[] { "10 20", "300 200", "700 500" };
        await WaitForAsync(() => watch.Lines.Count >= 3, "pointer-watch printed fewer than 3 changes");
        Assert.Equal(expected, watch.Lines.Take(3).Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]));
    }

    [Fact]
    public async Task DeskKeyEcho_IntoXterm_EveryKeyEchoesAndSummaryIsPrinted()
    {
        await using var x = await Xvfb.StartAsync();

        // The terminal runs cat in the pty's cooked mode, so the kernel echoes each key (and erases on BackSpace) as
        // soon as the child runs; the child touches a file first, which is the readiness signal. (An interactive shell
        // would race its own start-up: keys typed before readline is up can be discarded, and a BackSpace on an empty
        // line draws nothing.)
        var directory = Directory.CreateTempSubdirectory("desk-key-echo-");
        var started = Path.Combine(directory.FullName, "started");
        using var xterm = Process.Start(new ProcessStartInfo("xterm", ["-geometry", "80x24+0+0", "-e", "sh", "-c", ": > \"$0\"; exec cat", started]) { Environment = { ["DISPLAY"] = x.Display } })!;
        try
        {
            await WaitForAsync(() => File.Exists(started), "the terminal's child did not start within 10 s");
            Assert.Equal(0, (await XCommand.RunAsync(x.Display, "dotnet", s_desk, "wait-content", "--region", "400x200+0+0", "--timeout-ms", "15000")).ExitCode);
            await XCommand.RunAsync(x.Display, "xdotool", "mousemove", "100", "100");
            var (rc, output) = await XCommand.RunAsync(x.Display, "dotnet", s_desk, "key-echo", "--region", "400x200+0+0", "--count", "5");

            Assert.Equal(0, rc);
            var keys = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("key", StringComparison.Ordinal)).ToList();
            Assert.Equal(5, keys.Count);
            Assert.All(keys, k => Assert.InRange(double.Parse(k.Split(' ')[1], CultureInfo.InvariantCulture), 0.01, 3000));
            Assert.Contains("summary n=5 ", output, StringComparison.Ordinal);
            Assert.Contains("timeouts=0", output, StringComparison.Ordinal);
        }
        finally
        {
            xterm.Kill();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task DeskWaitContent_UniformScreen_TimesOutWithExitOne()
    {
        await using var x = await Xvfb.StartAsync();
        var (rc, output) = await XCommand.RunAsync(x.Display, "dotnet", s_desk, "wait-content", "--region", "100x100+0+0", "--timeout-ms", "300");
        Assert.Equal(1, rc);
        Assert.Contains("timeout", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeskAnimate_NoDisplay_FailsWithAClearMessage()
    {
        var (rc, output) = await XCommand.RunAsync(":999", "dotnet", s_desk, "animate", "--seconds", "1");
        Assert.Equal(1, rc);
        Assert.Contains("cannot open X display", output, StringComparison.Ordinal);
    }

    private static async Task WaitForAsync(Func<bool> condition, string failure)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), failure);
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>A NetemDesk program that prints "ready" when drawn; killed on dispose.</summary>
    private sealed class DeskRun : IDisposable
    {
        private readonly Process _process;

        private DeskRun(Process process) => _process = process;

        public List<string> Lines { get; } = [];

        public static async Task<DeskRun> StartAsync(string display, params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.Environment["DISPLAY"] = display;
            psi.ArgumentList.Add(s_desk);
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }

            var run = new DeskRun(Process.Start(psi)!);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            run._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data == "ready")
                {
                    ready.TrySetResult();
                }
                else if (e.Data is not null)
                {
                    lock (run.Lines)
                    {
                        run.Lines.Add(e.Data);
                    }
                }
            };
            run._process.BeginOutputReadLine();
            try
            {
                await ready.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            }
            catch
            {
                run.Dispose();
                throw;
            }

            return run;
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
}

/// <summary>An Xvfb on a display it picks itself (-displayfd), 1024x768x24; killed on dispose.</summary>
internal sealed class Xvfb : IAsyncDisposable
{
    private readonly Process _process;

    private Xvfb(Process process, string display)
    {
        _process = process;
        Display = display;
    }

    public string Display { get; }

    public static async Task<Xvfb> StartAsync()
    {
        if (!File.Exists("/usr/bin/Xvfb") || !File.Exists("/usr/bin/xdotool"))
        {
            Assert.Fail("Xvfb/xdotool not installed: run ./eng/setup.sh");
        }

        var p = Process.Start(new ProcessStartInfo("Xvfb", ["-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        try
        {
            var line = await p.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            return new Xvfb(p, ":" + int.Parse(line!.Trim(), CultureInfo.InvariantCulture));
        }
        catch
        {
            p.Kill();
            p.Dispose();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
    }
}

/// <summary>Runs a short command with DISPLAY set; 60 s bound.</summary>
internal static class XCommand
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string display, string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DISPLAY"] = display;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return (p.ExitCode, await stdout + await stderr);
    }
}
