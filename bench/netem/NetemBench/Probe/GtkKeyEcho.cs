using System.Diagnostics;
using System.Globalization;
using NetemLink;

namespace NetemBench.Probe;

/// <summary>
/// The cross-check of the probe's key-to-echo with a real spice-gtk client: remote-viewer full-screen on an Xvfb in the
/// branch namespace, keys injected with XTest, and the echo timed when remote-viewer's window shows it (NetemDesk
/// key-echo polls the screen). Same typing xterm, same alternating x / BackSpace as the probe.
/// </summary>
public static class GtkKeyEcho
{
    public const string Workload = "typing-gtk";

    public static async Task<Sample> RunAsync(XspiceServer xspice, string brNs, string host, int port, string logDir, ProbeSettings settings, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var dll = Path.Combine(AppContext.BaseDirectory, "NetemDesk.dll");
        var displayReady = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // -displayfd: Xvfb picks a free display and prints its number when it accepts connections.
        using var xvfb = NsProcess.StartWatched("xvfb", brNs, Path.Combine(logDir, "xvfb.log"), null, line => displayReady.TrySetResult(line.Trim()),
            "Xvfb", "-displayfd", "1", "-screen", "0", "1024x768x24", "-nolisten", "tcp");
        NsProcess? viewer = null;
        try
        {
            var display = ":" + await displayReady.Task.WaitAsync(TimeSpan.FromSeconds(20), ct);
            var env = new Dictionary<string, string> { ["DISPLAY"] = display };
            xspice.PointerToTypingWindow();
            viewer = NsProcess.Start("remote-viewer", brNs, Path.Combine(logDir, "remote-viewer.log"), env,
                "remote-viewer", "--full-screen", $"spice://{host}:{port}");
            // remote-viewer's full-screen toolbar slides in and out at the top of the screen: watch the xterm below it
            // (the prompt sits at line 13 or lower, see XspiceServer).
            var t = xspice.TypingRegion;
            var region = new ScreenRect(t.Left, t.Top + 100, t.Right, t.Bottom).ToString();
            var (rc, output) = await RunDeskAsync(brNs, display, dll, TimeSpan.FromSeconds(60), ct, "wait-content", "--region", region, "--timeout-ms", "45000");
            if (rc != 0)
            {
                return new Sample(false, sw.Elapsed.TotalSeconds, 0, "remote-viewer never showed the desktop: " + output.Trim());
            }

            // A click grabs keyboard and pointer for remote-viewer (no window manager gives it focus otherwise); the
            // remote pointer is over the typing xterm, where the click only moves the text cursor.
            Shell.Check("ip", "netns", "exec", brNs, "env", "DISPLAY=" + display, "xdotool", "click", "1");
            // Two warm-up keys, not counted: the first keys after the grab also see remote-viewer settle (toolbar,
            // focus), which is not the network's doing.
            await RunDeskAsync(brNs, display, dll, TimeSpan.FromSeconds(30), ct, "key-echo", "--region", region, "--count", "2",
                "--timeout-ms", ((int)settings.EchoTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
            (rc, output) = await RunDeskAsync(brNs, display, dll, TimeSpan.FromMinutes(4), ct, "key-echo", "--region", region,
                "--count", settings.Keys.ToString(CultureInfo.InvariantCulture), "--timeout-ms", ((int)settings.EchoTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
            var latencies = new List<double>();
            var timeouts = 0;
            foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = line.Split(' ');
                if (parts.Length == 2 && parts[0].StartsWith("key", StringComparison.Ordinal))
                {
                    if (parts[1] == "timeout")
                    {
                        timeouts++;
                    }
                    else if (double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms))
                    {
                        latencies.Add(ms);
                    }
                }
            }

            var ok = rc == 0 && latencies.Count > 0 && timeouts <= settings.Keys / 10;
            return new Sample(ok, sw.Elapsed.TotalSeconds, viewer.CpuSeconds(), ok ? null : $"key-echo exit {rc}, {latencies.Count} echoes, {timeouts} timeouts")
            {
                Series = new() { ["keyEchoMs"] = latencies },
                Values = new() { ["keyEchoTimeouts"] = timeouts },
            };
        }
        catch (TimeoutException ex)
        {
            return new Sample(false, sw.Elapsed.TotalSeconds, 0, ex.Message);
        }
        finally
        {
            viewer?.Dispose();
        }
    }

    private static async Task<(int ExitCode, string Output)> RunDeskAsync(string ns, string display, string dll, TimeSpan timeout, CancellationToken ct, params string[] args)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["netns", "exec", ns, "dotnet", dll, .. args, "--display", display])
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start NetemDesk");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        try
        {
            await p.WaitForExitAsync(ct).WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            p.Kill(true);
            throw new TimeoutException($"NetemDesk {args[0]} did not finish within {timeout.TotalSeconds:0} s");
        }

        return (p.ExitCode, await stdout + await stderr);
    }
}
