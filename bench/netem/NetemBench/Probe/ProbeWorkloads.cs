using System.Diagnostics;
using System.Globalization;
using System.Net;
using NetemLink;
using Accel.Core.Spice.Protocol;

namespace NetemBench.Probe;

/// <summary>Sizes of the in-session workloads (the quick subset uses fewer keys and shorter phases).</summary>
public sealed record ProbeSettings(int Keys, TimeSpan PointerPhase, TimeSpan WatchPhase, TimeSpan EchoTimeout)
{
    public static ProbeSettings Full => new(60, TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(3));

    public static ProbeSettings Quick => new(12, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(3));
}

/// <summary>
/// The workloads measured inside one SPICE session of the probe client (<see cref="SpiceProbe"/>), with real X
/// applications on the Xspice desktop: the typing xterm (idle screen, key-to-echo and pointer), a second xterm that
/// scrolls a long text, NetemDesk's 30 fps animation and full-screen slideshow, mixed (typing during animation) and
/// flood (typing beside an xterm that prints without pause), and step (mixed, with the link's rate cut to a fifth
/// halfway through the keys: issue #10's bandwidth step, 10 → 2 Mbit/s on branch).
/// </summary>
public static class ProbeWorkloads
{
    public static readonly string[] All = ["typing", "scrolling", "slideshow", "animation", "mixed", "flood", "step"];

    /// <summary>Where the animation window goes: below the typing xterm, left of xclock.</summary>
    public const string AnimationGeometry = "320x240+560+470";

    /// <summary>The scrolling xterm: 80x12 characters from +0+470 (its pixel size depends on the font; checked against the typing xterm at start).</summary>
    public const string ScrollerTerminal = "80x12+0+470";

    /// <summary>The flooding xterm: 80x15 characters from +0+395, between the typing xterm and the bottom of the screen, left of xclock.</summary>
    public const string FloodTerminal = "80x15+0+395";

    /// <summary>The step workload's rate after the step: a fifth of the profile's (2 Mbit/s on branch), 2 Mbit/s on an uncapped link.</summary>
    public static double SteppedRate(double rateBitsPerSecond) => rateBitsPerSecond > 0 ? rateBitsPerSecond / 5 : 2e6;

    public static async Task<Sample> RunAsync(string workload, XspiceServer xspice, string brNs, string host, int port, string logDir,
        ProbeSettings settings, CancellationToken ct, Topology? topology = null)
    {
        var sw = Stopwatch.StartNew();
        var desks = new List<DeskProcess>();
        var series = new Dictionary<string, List<double>>();
        var values = new Dictionary<string, double>();
        NsProcess? scroller = null;
        try
        {
            // Side applications first, so the session sees them from its first screen.
            switch (workload)
            {
                case "scrolling":
                    scroller = await xspice.StartScrollerAsync(logDir, ct);
                    break;
                case "typing" or "flood":
                    break;
                case "slideshow":
                    desks.Add(await DeskProcess.StartAsync(xspice, logDir, "slideshow", ["--interval-ms", "1000", "--photos", ProbeFrames.SlideshowPhotos.ToString(CultureInfo.InvariantCulture)], ct));
                    break;
                case "animation" or "mixed" or "step":
                    desks.Add(await DeskProcess.StartAsync(xspice, logDir, "animate", ["--geometry", AnimationGeometry, "--fps", "30"], ct));
                    break;
                default:
                    throw new ArgumentException($"unknown workload {workload}");
            }

            xspice.PointerToTypingWindow();
            await using var probe = await SpiceProbe.ConnectAsync(brNs, new IPEndPoint(IPAddress.Parse(host), port), TimeSpan.FromSeconds(60), ct,
                ProbeFrames.PictureFor(workload));
            values["firstScreenSeconds"] = probe.FirstScreenSeconds ?? double.NaN;
            if (workload == "flood")
            {
                // The flood starts once the session is up (a build started while someone works): a session that has to
                // connect into it never gets its first screen from a plain spice-server before the flush timeout.
                scroller = await xspice.StartFloodAsync(logDir, ct);
            }

            using var trace = Environment.GetEnvironmentVariable("NETEM_PROBE_TRACE") == "1"
                ? new StreamWriter(Path.Combine(logDir, $"probe-trace-{workload}.log"), append: true) { AutoFlush = true }
                : null;
            if (trace is not null)
            {
                var gate = new Lock();
                probe.TraceRegionDraws = line =>
                {
                    lock (gate)
                    {
                        trace.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
                    }
                };
            }

            var bytes0 = probe.DisplayBytes;
            var phase = Stopwatch.StartNew();
            var errors = new List<string>();

            if (workload is "typing" or "scrolling" or "mixed" or "flood" or "step")
            {
                var echo = workload == "step"
                    ? await StepAsync(probe, xspice, topology ?? throw new ArgumentException("the step workload needs the topology"), settings, series, ct)
                    // Bounded well inside the runner's 5 minutes per sample: with most keys unanswered a run would take longer.
                    : await probe.MeasureKeyEchoAsync(settings.Keys, xspice.TypingRegion, settings.EchoTimeout, ct, budget: TimeSpan.FromMinutes(3));
                series["keyEchoMs"] = echo.LatenciesMs;
                values["keyEchoTimeouts"] = echo.Timeouts;
                values["keys"] = echo.Keys;
                // Keys without an echo are a result (counted and reported); a run where none echoed measured nothing.
                if (echo.StoppedBy is { } why)
                {
                    // Typically spice-server dropping a display client that cannot keep up: a result, with what was measured.
                    throw new IOException($"{why} after {echo.Keys} of {settings.Keys} keys");
                }

                if (echo.LatenciesMs.Count == 0)
                {
                    errors.Add($"none of {echo.Keys} keys echoed within {settings.EchoTimeout.TotalSeconds:0} s (do the keys reach the typing xterm?)");
                }
            }

            if (probe.Picture is { } picture)
            {
                await ProbeFrames.WatchAsync(picture, workload, settings.WatchPhase, series, values, errors, ct);
            }

            if (workload == "typing")
            {
                using var watcher = await DeskProcess.StartAsync(xspice, logDir, "pointer-watch", [], ct);
                var r = xspice.TypingRegion;
                var run = await probe.MovePointerAsync(((r.Left + r.Right) / 2 - 60, (r.Top + r.Bottom) / 2), settings.PointerPhase, 125, 3, ct);
                // Updates still in flight when the hand stops do not count: only what reached the server while moving.
                await Task.Delay(300, ct);
                var changes = watcher.Lines().Select(ParsePointerLine).Count(t => t >= run.StartUnixMs && t <= run.EndUnixMs);
                values["pointerUpdatesPerSecond"] = changes / ((run.EndUnixMs - run.StartUnixMs) / 1000.0);
                values["pointerMotionsSent"] = run.MotionsSent;
                if (changes == 0)
                {
                    errors.Add($"the pointer never moved on the server ({run.MotionsSent} {(probe.ClientMouseMode ? "MOUSE_POSITION" : "MOUSE_MOTION")} sent)");
                }
                xspice.PointerToTypingWindow();
            }

            values["displayKiBPerSecond"] = (probe.DisplayBytes - bytes0) / 1024.0 / phase.Elapsed.TotalSeconds;
            if (scroller is { HasExited: true })
            {
                errors.Add($"the {workload} xterm exited early");
            }

            foreach (var d in desks)
            {
                if (d.HasExited)
                {
                    errors.Add($"a desk program of {workload} exited early (see {logDir})");
                }
            }

            return new Sample(errors.Count == 0, sw.Elapsed.TotalSeconds, 0, errors.Count == 0 ? null : string.Join("; ", errors))
            {
                Values = values,
                Series = series,
                DeskCpuSeconds = desks.Sum(d => d.CpuSeconds()) + (scroller?.CpuSeconds() ?? 0),
            };
        }
        catch (Exception ex) when (ex is IOException or TimeoutException or System.Net.Sockets.SocketException or Accel.Core.Spice.Protocol.SpiceProtocolException)
        {
            return new Sample(false, sw.Elapsed.TotalSeconds, 0, ex.Message) { Values = values, Series = series };
        }
        finally
        {
            foreach (var d in desks)
            {
                d.Dispose();
            }

            scroller?.Dispose();
        }
    }

    /// <summary>
    /// Half the keys on the profile's link, then both directions' rate cut to <see cref="SteppedRate"/> at once and the
    /// other half typed right after it (the edges have to notice the drop while the animation keeps the display busy);
    /// the rate is restored before returning. The result holds the keys after the step (the goal's figure); the keys
    /// before it go to <c>keyEchoBeforeStepMs</c>.
    /// </summary>
    private static async Task<KeyEchoResult> StepAsync(SpiceProbe probe, XspiceServer xspice, Topology topology, ProbeSettings settings,
        Dictionary<string, List<double>> series, CancellationToken ct)
    {
        var half = Math.Max(1, settings.Keys / 2);
        var before = await probe.MeasureKeyEchoAsync(half, xspice.TypingRegion, settings.EchoTimeout, ct, budget: TimeSpan.FromMinutes(1.5));
        series["keyEchoBeforeStepMs"] = before.LatenciesMs;
        if (before.StoppedBy is not null)
        {
            return before;
        }

        var down = topology.Down.Parameters;
        var up = topology.Up.Parameters;
        try
        {
            topology.Down.Parameters = down with { RateBitsPerSecond = SteppedRate(down.RateBitsPerSecond) };
            topology.Up.Parameters = up with { RateBitsPerSecond = SteppedRate(up.RateBitsPerSecond) };
            var after = await probe.MeasureKeyEchoAsync(settings.Keys - half, xspice.TypingRegion, settings.EchoTimeout, ct, budget: TimeSpan.FromMinutes(1.5));
            return after with { Timeouts = after.Timeouts + before.Timeouts, Keys = after.Keys + before.Keys };
        }
        finally
        {
            topology.Down.Parameters = down;
            topology.Up.Parameters = up;
        }
    }

    /// <summary>The Unix ms time of a pointer-watch line ("TIME X Y"); -1 when it has none.</summary>
    internal static long ParsePointerLine(string line)
    {
        var sp = line.IndexOf(' ', StringComparison.Ordinal);
        return sp > 0 && long.TryParse(line.AsSpan(0, sp), NumberStyles.Integer, CultureInfo.InvariantCulture, out var t) ? t : -1;
    }
}
