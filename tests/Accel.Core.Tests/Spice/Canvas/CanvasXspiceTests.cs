using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Accel.Core.Spice;
using Accel.Core.Spice.Canvas;
using Accel.Core.Tests.Relay;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice.Canvas;

/// <summary>
/// The canvas against spice-gtk on a real Xspice desktop: spicy (spice-gtk, under Xvfb) holds a long session through a
/// message-aware tap that feeds every display message into a <see cref="DisplayCanvas"/>, while real X clients type,
/// scroll, show a photo and move windows. Then the session ends and spicy-screenshot takes spice-gtk's picture of the
/// same (now still) desktop; the canvas's primary surface must equal it pixel for pixel.
/// </summary>
public sealed class CanvasXspiceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Canvas_LongMixedXspiceSession_EqualsSpiceGtkScreenshot()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var xspice = await XspiceServer.StartAsync(new Dictionary<string, string> { ["SpiceStreamingVideo"] = "off" }, ct);
        await using var proxy = new LinkAwareProxy(xspice.EndPoint);
        using var canvas = new TappedCanvas(proxy);

        await using (var viewer = await SpicyViewer.StartAsync(proxy.Port, ct))
        {
            await WaitForAsync(() => canvas.Read(c => c.PrimaryId is not null), TimeSpan.FromSeconds(30), "no primary surface through the tap");
            await DesktopActivity.RunAsync(xspice, ct);

            // Quiet: a marker colour on the root window, drawn after everything else, must reach the canvas.
            var marker = await DesktopActivity.MarkAsync(xspice, ct);
            await WaitForAsync(() => canvas.PixelAt(2, 2) == marker, TimeSpan.FromSeconds(30), "the marker never reached the canvas");
        }

        Assert.Null(canvas.Error);
        var shot = await Screenshots.CaptureAsync(xspice.Port, ct);
        output.WriteLine(canvas.Summary());
        int differing = canvas.CompareWith(shot, out string first);
        Assert.True(differing == 0, $"{differing} pixels differ from spice-gtk's screenshot; first: {first}");
    }

    internal static int CountDifferences(PixmanImage primary, Screenshots.Image shot, out string first)
    {
        int differing = 0;
        first = "none";
        for (int y = 0; y < shot.Height; y++)
        {
            var row = MemoryMarshal.Cast<byte, uint>(primary.Row(y));
            for (int x = 0; x < shot.Width; x++)
            {
                int i = (y * shot.Width + x) * 3;
                uint expected = (uint)(shot.Rgb[i] << 16 | shot.Rgb[i + 1] << 8 | shot.Rgb[i + 2]);
                if ((row[x] & 0xFFFFFF) != expected)
                {
                    if (differing++ == 0)
                    {
                        first = $"({x},{y}) canvas {row[x] & 0xFFFFFF:X6} spice-gtk {expected:X6}";
                    }
                }
            }
        }

        return differing;
    }

    internal static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(what);
            }

            await Task.Delay(50);
        }
    }
}

/// <summary>spicy (spice-gtk's test viewer) on its own Xvfb display, connected to a SPICE port.</summary>
internal sealed class SpicyViewer : IAsyncDisposable
{
    private readonly Process _xvfb;
    private readonly Process _spicy;

    private SpicyViewer(Process xvfb, Process spicy, string display)
    {
        _xvfb = xvfb;
        _spicy = spicy;
        Display = display;
    }

    /// <summary>The X display spicy runs on (its Xvfb), e.g. ":5".</summary>
    public string Display { get; }

    /// <param name="unscaled">spicy shows the guest 1:1 (its settings file turns scaling off), for grabs of its screen.</param>
    public static async Task<SpicyViewer> StartAsync(int port, CancellationToken ct, bool unscaled = false)
    {
        const string screen = "1280x1024x24";
        var xvfb = Start("Xvfb", null, null, "-displayfd", "1", "-screen", "0", screen, "-nolisten", "tcp");
        var line = await xvfb.StandardOutput.ReadLineAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
        var display = ":" + int.Parse(line!.Trim(), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);
        string? config = null;
        if (unscaled)
        {
            config = Directory.CreateTempSubdirectory("spicy-config-").FullName;
            Directory.CreateDirectory(Path.Combine(config, "spicy"));
            await File.WriteAllTextAsync(Path.Combine(config, "spicy", "settings"), "[general]\nscaling=false\n", ct);
        }

        var spicy = Start("spicy", display, config, "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture));
        return new SpicyViewer(xvfb, spicy, display);
    }

    private static Process Start(string file, string? display, string? configHome, params string[] args)
    {
        var start = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        if (display is not null)
        {
            start.Environment["DISPLAY"] = display;
        }

        if (configHome is not null)
        {
            start.Environment["XDG_CONFIG_HOME"] = configHome;
        }

        var p = Process.Start(start)!;
        _ = p.StandardError.ReadToEndAsync();
        if (display is not null)
        {
            _ = p.StandardOutput.ReadToEndAsync();
        }

        return p;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var p in new[] { _spicy, _xvfb })
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
            }

            await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            p.Dispose();
        }
    }
}
