using System.Diagnostics;
using System.Globalization;
using NetemLink;

namespace NetemBench;

/// <summary>One measured sample of a workload.</summary>
public sealed record Sample(bool Ok, double Seconds, double ClientCpuSeconds, string? Error)
{
    /// <summary>Single figures of an in-session run (first screen, pointer updates/s, timeouts…).</summary>
    public Dictionary<string, double> Values { get; init; } = [];

    /// <summary>Distributions of an in-session run (key-to-echo, freshness…), in ms.</summary>
    public Dictionary<string, List<double>> Series { get; init; } = [];

    /// <summary>CPU seconds of the X workload programs the run started (animation, slideshow, scroller).</summary>
    public double DeskCpuSeconds { get; init; }
}

/// <summary>Client-side actions, run in the branch namespace with spicy-screenshot (spice-gtk).</summary>
public static class Workloads
{
    public static readonly string[] All = ["connect", "update"];

    /// <summary>
    /// connect: wall time from spicy-screenshot start to its exit with the PPM written (first complete screen),
    /// verified non-blank. CPU = the client's user+system seconds (bash <c>times</c>).
    /// </summary>
    public static async Task<Sample> ConnectAsync(string brNs, string host, int port, string ppm, TimeSpan timeout, CancellationToken ct)
    {
        File.Delete(ppm);
        var log = Path.ChangeExtension(ppm, ".spice-debug.log");
        var script = $"SPICE_DEBUG=1 spicy-screenshot -h {host} -p {port} -o {ppm} >{log} 2>&1; rc=$?; times; exit $rc";
        var psi = new ProcessStartInfo("ip", ["netns", "exec", brNs, "bash", "-c", script])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var startedAt = DateTime.Now.TimeOfDay;
        var sw = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync(ct);
        try
        {
            await p.WaitForExitAsync(ct).WaitAsync(timeout, ct);
        }
        catch (TimeoutException)
        {
            p.Kill(true);
            return new Sample(false, sw.Elapsed.TotalSeconds, 0, $"timeout after {timeout.TotalSeconds:0} s");
        }

        var seconds = sw.Elapsed.TotalSeconds;
        var cpu = ParseChildTimes(await output);
        if (p.ExitCode != 0 || !File.Exists(ppm))
        {
            return new Sample(false, seconds, cpu, $"spicy-screenshot exit {p.ExitCode}");
        }

        var blank = Ppm.IsBlank(ppm);
        var timeline = new Dictionary<string, double> { [ConnectTimeline.ScreenKey] = Math.Round(seconds * 1000, 0) };
        if (File.Exists(log))
        {
            ConnectTimeline.Read(File.ReadLines(log), startedAt, timeline);
        }

        return blank ? new Sample(false, seconds, cpu, "screenshot is blank") : new Sample(true, seconds, cpu, null) { Values = timeline };
    }

    /// <summary>
    /// update: display update latency as seen by a NEW client connection (not key-to-echo). A marker is typed into
    /// the server's xterm with xdotool at t0 (server-side, not client input); spicy-screenshot is repeated until a
    /// screenshot differs from the baseline in the xterm area. Reported time = t(first changed PPM written) - t0;
    /// it includes one full connect, so it is an upper bound on display update latency.
    /// </summary>
    public static async Task<Sample> UpdateAsync(
        string brNs, string dcNs, IReadOnlyDictionary<string, string> dcEnv, string host, int port, string dir, TimeSpan timeout, CancellationToken ct)
    {
        var baselinePath = Path.Combine(dir, "update-base.ppm");
        var base0 = await ConnectAsync(brNs, host, port, baselinePath, timeout, ct);
        if (!base0.Ok)
        {
            return base0 with { Error = "baseline: " + base0.Error };
        }

        var baseline = Ppm.Read(baselinePath);
        var display = dcEnv["DISPLAY"];
        Shell.Run("ip", "netns", "exec", dcNs, "env", "DISPLAY=" + display, "xdotool", "mousemove", "300", "200");
        var marker = "echo " + new string((char)('a' + Random.Shared.Next(26)), 12) + Random.Shared.Next(100000);
        var sw = Stopwatch.StartNew();
        Shell.Run("ip", "netns", "exec", dcNs, "env", "DISPLAY=" + display, "xdotool", "type", "--delay", "1", marker);
        // xdotool type does not turn "\n" into Return on this keymap: press it, so the line runs and the prompt stays short.
        Shell.Run("ip", "netns", "exec", dcNs, "env", "DISPLAY=" + display, "xdotool", "key", "Return");
        var cpu = 0.0;
        var path = Path.Combine(dir, "update.ppm");
        while (sw.Elapsed < timeout)
        {
            // One hung connection must not eat the whole budget: bound each attempt.
            var attempt = TimeSpan.FromTicks(Math.Min((timeout - sw.Elapsed).Ticks, TimeSpan.FromSeconds(20).Ticks));
            var s = await ConnectAsync(brNs, host, port, path, attempt, ct);
            cpu += s.ClientCpuSeconds;
            if (s.Ok && Ppm.Differs(baseline, Ppm.Read(path)))
            {
                return new Sample(true, sw.Elapsed.TotalSeconds, cpu, null);
            }
        }

        return new Sample(false, sw.Elapsed.TotalSeconds, cpu, "change never became visible");
    }

    private static double ParseChildTimes(string timesOutput)
    {
        // bash `times`: line 1 = shell, line 2 = children "0m0.120s 0m0.040s".
        var lines = timesOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length < 2)
        {
            return 0;
        }

        return lines[^1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Sum(ParseBashTime);
    }

    private static double ParseBashTime(string t)
    {
        var m = t.IndexOf('m');
        return m < 0 ? 0 : (double.Parse(t[..m], CultureInfo.InvariantCulture) * 60)
            + double.Parse(t[(m + 1)..].TrimEnd('s'), CultureInfo.InvariantCulture);
    }
}

/// <summary>Minimal binary PPM (P6) reader for screenshot checks.</summary>
public static class Ppm
{
    public static (int Width, int Height, byte[] Pixels) Read(string path)
    {
        var data = File.ReadAllBytes(path);
        var pos = 0;
        string Token()
        {
            while (pos < data.Length && (char.IsWhiteSpace((char)data[pos]) || data[pos] == '#'))
            {
                if (data[pos] == '#')
                {
                    while (pos < data.Length && data[pos] != '\n')
                    {
                        pos++;
                    }
                }
                else
                {
                    pos++;
                }
            }

            var start = pos;
            while (pos < data.Length && !char.IsWhiteSpace((char)data[pos]))
            {
                pos++;
            }

            return System.Text.Encoding.ASCII.GetString(data, start, pos - start);
        }

        if (Token() != "P6")
        {
            throw new InvalidDataException("not a P6 PPM");
        }

        var w = int.Parse(Token(), CultureInfo.InvariantCulture);
        var h = int.Parse(Token(), CultureInfo.InvariantCulture);
        _ = Token();
        pos++;
        return (w, h, data[pos..]);
    }

    /// <summary>Blank = every pixel the same colour (an empty or never-drawn surface).</summary>
    public static bool IsBlank(string path)
    {
        var (_, _, px) = Read(path);
        for (var i = 3; i + 2 < px.Length; i += 3)
        {
            if (px[i] != px[0] || px[i + 1] != px[1] || px[i + 2] != px[2])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the xterm area (top-left 700x450 pixels) differs.</summary>
    public static bool Differs((int Width, int Height, byte[] Pixels) a, (int Width, int Height, byte[] Pixels) b)
    {
        if (a.Width != b.Width || a.Height != b.Height)
        {
            return true;
        }

        for (var y = 0; y < Math.Min(450, a.Height); y++)
        {
            var row = y * a.Width * 3;
            if (!a.Pixels.AsSpan(row, Math.Min(700, a.Width) * 3).SequenceEqual(b.Pixels.AsSpan(row, Math.Min(700, a.Width) * 3)))
            {
                return true;
            }
        }

        return false;
    }
}
