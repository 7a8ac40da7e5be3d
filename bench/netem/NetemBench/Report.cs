using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NetemBench;

/// <summary>Writes report.md (human) and report.json (regression tracking) into the report directory.</summary>
public static class Report
{
    public static void Write(string dir, string command, List<ProfileResult> results)
    {
        WritePlots(dir, results);
        var json = JsonSerializer.Serialize(new
        {
            schema = "spiceaccel-netem/1",
            createdUtc = DateTime.UtcNow,
            command,
            machine = Machine(),
            profiles = results,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
        File.WriteAllText(Path.Combine(dir, "report.json"), json);
        // The raw distributions behind the percentiles and plots: profile → "contender workload" → metric → samples.
        var samples = results.ToDictionary(
            pr => pr.Profile.Name,
            pr => pr.Rows.Where(r => r.Samples.Count > 0).ToDictionary(r => $"{r.Contender} {r.Workload}", r => r.Samples));
        File.WriteAllText(Path.Combine(dir, "samples.json"), JsonSerializer.Serialize(samples));
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(command, results));
    }

    /// <param name="machine">The machine section (default: this machine's, <see cref="Machine"/>).</param>
    public static string Markdown(string command, List<ProfileResult> results, IReadOnlyDictionary<string, string>? machine = null)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("# netem benchmark report").AppendLine();
        sb.AppendLine(inv, $"- command: `{command}`");
        foreach (var (k, v) in machine ?? Machine())
        {
            sb.AppendLine(inv, $"- {k}: {v}");
        }

        sb.AppendLine();
        foreach (var pr in results)
        {
            var p = pr.Profile;
            sb.AppendLine(inv, $"## {p.Name}: {p.Description}").AppendLine();
            if (pr.Link is { } l)
            {
                sb.AppendLine("| link | asked | measured |").AppendLine("|---|---|---|");
                sb.AppendLine(inv, $"| RTT (UDP probe, median up + median down) | {l.AskedRttMs} ms | {l.MeasuredRttMs:0.000} ms |");
                sb.AppendLine(inv, $"| loss up / down | {l.AskedLossPercent:0.00} % | {l.MeasuredLossUpPercent:0.00} % / {l.MeasuredLossDownPercent:0.00} % |");
                sb.AppendLine(inv, $"| rate down (UDP at 130 % offered load) | {l.AskedRateMbit} Mbit/s | {l.RateText} |");
                sb.AppendLine(inv, $"| emulator timer lateness mean / max | — | {l.TimerLatenessMeanMs:0.000} ms / {l.TimerLatenessMaxMs:0.000} ms |");
                sb.AppendLine();
                sb.AppendLine(l.Deviations.Count > 0 ? "**Link deviations > 5 %:** " + string.Join("; ", l.Deviations)
                    : l.RateMeasured ? "Link within 5 % of the profile." : "RTT and loss within 5 % of the profile; the rate was not measured.");
                sb.AppendLine();
            }

            var timed = pr.Rows.Where(r => r.Workload is "connect" or "update").ToList();
            if (timed.Count > 0)
            {
                sb.AppendLine("Timed workloads with spice-gtk (`spicy-screenshot`; connect = start to the first complete screen written):").AppendLine();
                sb.AppendLine("| contender | workload | status | median s | min–max s | × plain (median) | WAN KB up | WAN KB down | CPU s per run |");
                sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
                foreach (var r in timed)
                {
                    var plain = pr.Rows.FirstOrDefault(x => x.Contender == "plain" && x.Workload == r.Workload)?.MedianSeconds;
                    var ratio = r.MedianSeconds is { } m && plain is { } b && b > 0 ? (m / b).ToString("0.00", inv) : "—";
                    sb.AppendLine(inv, $"| {r.Contender} | {r.Workload} | {r.Status} ({r.Ok}/{r.Runs}) | {Fmt(r.MedianSeconds)} | {Fmt(r.MinSeconds)}–{Fmt(r.MaxSeconds)} | {ratio} | {r.WanBytesUp / 1024:0.0} | {r.WanBytesDown / 1024:0.0} | {Cpu(r)} |");
                }

                sb.AppendLine();
                ConnectTimeline.Table(sb, pr);
            }

            var session = pr.Rows.Where(r => r.Workload is not ("connect" or "update" or Probe.OutageWorkload.Workload)).ToList();
            if (session.Count > 0)
            {
                sb.AppendLine("In-session workloads (the bench's probe client: one SPICE session per run; times in ms):").AppendLine();
                sb.AppendLine("| contender | workload | status | key-to-echo p50 / p95 / p99 / max (n, no echo) | × plain p99 | pointer updates/s | freshness p50 / p95 / max | marker latency p50 / max (markers/s) | first screen s | WAN KB up / down | × plain bytes | CPU s per run |");
                sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
                foreach (var r in session)
                {
                    var plain = pr.Rows.FirstOrDefault(x => x.Contender == "plain" && x.Workload == r.Workload);
                    var echo = r.Distributions.GetValueOrDefault("keyEchoMs");
                    var plainEcho = plain?.Distributions.GetValueOrDefault("keyEchoMs");
                    var echoText = echo is { Count: > 0 }
                        ? $"{echo.P50:0} / {echo.P95:0} / {echo.P99:0} / {echo.Max:0} ({echo.Count}, {r.KeysWithoutEcho})"
                        : "—";
                    var echoRatio = echo is { Count: > 0 } && plainEcho is { Count: > 0 } ? (echo.P99 / plainEcho.P99).ToString("0.00", inv) : "—";
                    var fresh = r.Distributions.GetValueOrDefault("freshnessMs");
                    var freshText = fresh is { Count: > 0 } ? $"{fresh.P50:0} / {fresh.P95:0} / {fresh.Max:0}" : "—";
                    var marker = r.Distributions.GetValueOrDefault("markerLatencyMs");
                    var markerText = marker is { Count: > 0 } ? $"{marker.P50:0} / {marker.Max:0} ({r.Figures.GetValueOrDefault("markersPerSecond"):0.0})" : "—";
                    var pointer = r.Figures.TryGetValue("pointerUpdatesPerSecond", out var pu) ? pu.ToString("0", inv) : "—";
                    var first = r.Figures.TryGetValue("firstScreenSeconds", out var fs) ? fs.ToString("0.000", inv) : "—";
                    var bytes = r.WanBytesUp + r.WanBytesDown;
                    var plainBytes = plain is null ? 0 : plain.WanBytesUp + plain.WanBytesDown;
                    var bytesRatio = plainBytes > 0 ? (bytes / plainBytes).ToString("0.00", inv) : "—";
                    sb.AppendLine(inv, $"| {r.Contender} | {r.Workload} | {r.Status} ({r.Ok}/{r.Runs}) | {echoText} | {echoRatio} | {pointer} | {freshText} | {markerText} | {first} | {r.WanBytesUp / 1024:0.0} / {r.WanBytesDown / 1024:0.0} | {bytesRatio} | {Cpu(r)} |");
                }

                sb.AppendLine();
                KeyEchoTable(sb, pr);
                InputCopiesTable(sb, pr);
                ReportPicture.Table(sb, pr);
                CrossCheck(sb, pr);
                Goals(sb, pr);
            }

            ReportOutage.Table(sb, pr);
            foreach (var plot in pr.Plots)
            {
                sb.AppendLine(inv, $"![{plot.Metric} on {p.Name}]({plot.File})");
            }

            foreach (var e in pr.PlotErrors)
            {
                sb.AppendLine(inv, $"Plot not produced: {e}");
            }

            sb.AppendLine();
            var errors = pr.Rows.SelectMany(r => r.Errors.Select(e => $"{r.Contender}/{r.Workload}: {e}")).Distinct().ToList();
            if (errors.Count > 0)
            {
                sb.AppendLine("Failures:").AppendLine();
                foreach (var e in errors)
                {
                    sb.AppendLine(inv, $"- {e}");
                }

                sb.AppendLine();
            }
        }

        return sb.ToString();

        static string Fmt(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "—";
        static string Cpu(ResultRow r) => string.Join(", ", r.CpuSeconds.Select(kv => $"{kv.Key} {kv.Value.ToString("0.00", CultureInfo.InvariantCulture)}"));
    }

    /// <summary>Distribution names and how the plots label them.</summary>
    private static readonly (string Key, string Title, string Axis)[] s_plotted =
    [
        ("keyEchoMs", "key-to-echo latency", "key-to-echo (ms)"),
        ("freshnessMs", "display freshness under animation/slideshow (age of the newest content at the client)", "age (ms)"),
        ("markerLatencyMs", "frame/photo delivery latency (drawn on the server → complete at the client)", "latency (ms)"),
    ];

    /// <summary>One CDF plot per profile and distribution, every contender × workload that has samples as a series.</summary>
    public static void WritePlots(string dir, List<ProfileResult> results)
    {
        foreach (var pr in results)
        {
            pr.Plots.Clear();
            pr.PlotErrors.Clear();
            foreach (var (key, title, axis) in s_plotted)
            {
                var series = pr.Rows.Where(r => r.Samples.TryGetValue(key, out var v) && v.Count > 0)
                    .Select(r => (Label: $"{r.Contender} {r.Workload}", Values: (IReadOnlyList<double>)r.Samples[key])).ToList();
                if (series.Count == 0)
                {
                    continue;
                }

                var file = $"plot-{pr.Profile.Name}-{key}.png";
                var error = Plots.WriteLatencyCdf(Path.Combine(dir, file), $"{pr.Profile.Name}: {title}", axis, series);
                if (error is null)
                {
                    pr.Plots.Add(new PlotFile(key, file));
                }
                else
                {
                    pr.PlotErrors.Add($"{file}: {error}");
                }
            }
        }
    }

    /// <summary>Workloads where keys are typed while something else loads the display, and the idle reference.</summary>
    private static readonly string[] s_keyEchoWorkloads = ["typing", "scrolling", "mixed", "flood", "step"];

    /// <summary>Key-to-echo and WAN bytes side by side for the typing workloads: the figures the display-under-load goals read.</summary>
    private static void KeyEchoTable(StringBuilder sb, ProfileResult pr)
    {
        var rows = pr.Rows.Where(r => s_keyEchoWorkloads.Contains(r.Workload) && r.Keys > 0)
            .OrderBy(r => Array.IndexOf(s_keyEchoWorkloads, r.Workload)).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("Key-to-echo by display load (ms; keys without an echo within the timeout are not in the percentiles, they are counted):").AppendLine();
        sb.AppendLine("| workload | contender | p50 | p95 | p99 | max | keys without echo | × plain p99 | WAN KB (up + down) | WAN KB/s | × plain KB/s |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var plain = pr.Rows.FirstOrDefault(x => x.Contender == "plain" && x.Workload == r.Workload);
            var e = r.Distributions.GetValueOrDefault("keyEchoMs") ?? Stats.Of([]);
            var pe = plain?.Distributions.GetValueOrDefault("keyEchoMs");
            var ratio = e.Count > 0 && pe is { Count: > 0 } ? (e.P99 / pe.P99).ToString("0.00", inv) : "—";
            var rate = WanRate(r);
            var plainRate = plain is null ? double.NaN : WanRate(plain);
            var rateRatio = rate > 0 && plainRate > 0 ? (rate / plainRate).ToString("0.00", inv) : "—";
            sb.AppendLine(inv, $"| {r.Workload} | {r.Contender} | {Ms(e.P50)} | {Ms(e.P95)} | {Ms(e.P99)} | {Ms(e.Max)} | {r.KeysWithoutEcho} of {r.Keys} | {ratio} | {(r.WanBytesUp + r.WanBytesDown) / 1024:0} | {Ms(rate / 1024)} | {rateRatio} |");
        }

        sb.AppendLine();

        static string Ms(double v) => double.IsNaN(v) ? "—" : v.ToString("0", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// WAN bytes (up + down) per second of a run, NaN without a timed run. A run lasts as long as its keys take to echo,
    /// so bytes per run favour the faster contender's shorter run; bytes per second compare like with like.
    /// </summary>
    public static double WanRate(ResultRow r)
        => r.MeanSeconds is > 0 and { } seconds ? (r.WanBytesUp + r.WanBytesDown) / seconds : double.NaN;

    /// <summary>
    /// p99 of key-to-echo with every key that never echoed counted as infinitely late (nearest rank): a run that loses
    /// more than 1 % of its keys has no finite p99, however fast the others were.
    /// </summary>
    public static double EchoP99(ResultRow r)
    {
        var echoed = r.Samples.GetValueOrDefault("keyEchoMs") ?? [];
        var all = echoed.Concat(Enumerable.Repeat(double.PositiveInfinity, r.KeysWithoutEcho)).ToList();
        return all.Count == 0 ? double.NaN : Stats.Of(all).P99;
    }

    /// <summary>
    /// The probe's key-to-echo next to spice-gtk's (remote-viewer, timed on its own screen) for the same contender and
    /// link. spice-gtk adds a near-constant client-side cost (decode, GTK frame clock, X server, screen polling), which
    /// the lan profile shows on its own; the network part must agree.
    /// </summary>
    /// <summary>Issue #16's cost: the client edge's input copies against the run's WAN bytes (goal ≤ 5 % on typing, ≤ 1 % on mixed).</summary>
    private static void InputCopiesTable(StringBuilder sb, ProfileResult pr)
    {
        var rows = pr.Rows.Where(r => r.Figures.ContainsKey(EdgeCounters.Names[0])).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("Input copies (SpiceAccel's client edge, `Client:InputRedundancy`; per run, from its metrics):").AppendLine();
        sb.AppendLine("| contender | workload | copies KB | inputs-stream KB | copies / WAN bytes |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var copies = r.Figures[EdgeCounters.Names[0]];
            var payload = r.Figures.GetValueOrDefault(EdgeCounters.Names[1]);
            var wan = r.WanBytesUp + r.WanBytesDown;
            var share = wan > 0 ? (100 * copies / wan).ToString("0.00", inv) + " %" : "—";
            sb.AppendLine(inv, $"| {r.Contender} | {r.Workload} | {copies / 1024:0.0} | {payload / 1024:0.0} | {share} |");
        }

        sb.AppendLine();
    }

    private static void CrossCheck(StringBuilder sb, ProfileResult pr)
    {
        var pairs = pr.Rows.Where(r => r.Workload == "typing")
            .Select(r => (Probe: r, Gtk: pr.Rows.FirstOrDefault(g => g.Workload == Probe.GtkKeyEcho.Workload && g.Contender == r.Contender)))
            .Where(p => p.Gtk is not null && p.Probe.Distributions.ContainsKey("keyEchoMs") && p.Gtk.Distributions.ContainsKey("keyEchoMs"))
            .ToList();
        if (pairs.Count == 0)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("Cross-check of key-to-echo with spice-gtk (same contender, same link; spice-gtk's figure includes its own decode/render and the screen polling):").AppendLine();
        sb.AppendLine("| contender | probe p50 / p95 ms | remote-viewer p50 / p95 ms | remote-viewer − probe (p50) |").AppendLine("|---|---|---|---|");
        foreach (var (probe, gtk) in pairs)
        {
            var a = probe.Distributions["keyEchoMs"];
            var b = gtk!.Distributions["keyEchoMs"];
            sb.AppendLine(inv, $"| {probe.Contender} | {a.P50:0} / {a.P95:0} | {b.P50:0} / {b.P95:0} | {b.P50 - a.P50:+0;-0} ms |");
        }

        sb.AppendLine();
    }

    /// <summary>The issue's goals, checked from this run's figures (benchmark figures, never a test verdict).</summary>
    private static void Goals(StringBuilder sb, ProfileResult pr)
    {
        var inv = CultureInfo.InvariantCulture;
        var rtt = pr.Profile.RttMs;
        sb.AppendLine("Goals, checked on this run (benchmark figures; SpiceAccel is the product, kcptun is shown for comparison):").AppendLine();
        var lines = new List<string>();
        foreach (var r in pr.Rows.Where(r => r.Contender != "plain"))
        {
            var plain = pr.Rows.FirstOrDefault(x => x.Contender == "plain" && x.Workload == r.Workload);
            if (r.Workload == "typing" && r.Distributions.GetValueOrDefault("keyEchoMs") is { Count: > 0 } idle)
            {
                var limit = rtt + 50;
                var scope = pr.Profile.Name is "branch" or "lossy-wan" ? "" : " (the goal is set for branch and lossy-wan)";
                lines.Add($"{r.Contender}: idle key-to-echo p99 {idle.P99:0} ms ≤ RTT + 50 = {limit:0} ms: {(idle.P99 <= limit ? "met" : "NOT met")}{scope}");
            }

            if (r.Workload is "mixed" or "flood" && r.Keys > 0)
            {
                lines.AddRange(LoadGoals(pr, r, plain));
            }

            if (r.Workload == "typing" && r.Figures.TryGetValue("pointerUpdatesPerSecond", out var pointer))
            {
                lines.Add($"{r.Contender}: pointer {pointer:0} updates/s ≥ 60: {(pointer >= 60 ? "met" : "NOT met")}");
            }

            if (plain is not null && plain.WanBytesUp + plain.WanBytesDown > 0)
            {
                var ratio = (r.WanBytesUp + r.WanBytesDown) / (plain.WanBytesUp + plain.WanBytesDown);
                if (r.Workload == "flood")
                {
                    var perSecond = WanRate(r) / WanRate(plain);
                    lines.Add($"{r.Contender}: flood WAN bytes per second {perSecond:0.00} × plain ≤ 1: {(perSecond <= 1 ? "met" : "NOT met")} (per run {ratio:0.00} ×){(r.Contender == "kcptun" ? "; kcptun compresses" : "")}");
                }
                else
                {
                    var note = r.Workload is "animation" or "slideshow" or "mixed" or "scrolling"
                        ? "; the server sends what the client drains here, so content differs"
                        : r.Contender == "kcptun" ? "; kcptun compresses" : "";
                    lines.Add($"{r.Contender}: {r.Workload} WAN bytes {ratio:0.00} × plain (within 10 %: {(Math.Abs(ratio - 1) <= 0.10 ? "yes" : "no")}{note})");
                }
            }
        }

        foreach (var r in pr.Rows.Where(r => r.Contender == "plain" && r.Workload == "typing"))
        {
            if (r.Figures.TryGetValue("pointerUpdatesPerSecond", out var pointer))
            {
                lines.Add($"plain (reference): pointer {pointer:0} updates/s");
            }
        }

        foreach (var l in lines)
        {
            sb.AppendLine(inv, $"- {l}");
        }

        sb.AppendLine();
    }

    /// <summary>
    /// Issue #9's goals for typing under display load (mixed, flood): p99 ≤ RTT + 100 ms on branch and lossy-wan,
    /// p99 ≤ 0.5 × plain's everywhere, no key without an echo. p99 counts keys without an echo as infinitely late.
    /// </summary>
    private static IEnumerable<string> LoadGoals(ProfileResult pr, ResultRow r, ResultRow? plain)
    {
        var p99 = EchoP99(r);
        var text = double.IsPositiveInfinity(p99) ? "∞ (over 1 % of keys without echo)" : $"{p99:0} ms";
        var limit = pr.Profile.RttMs + 100;
        var scope = pr.Profile.Name is "branch" or "lossy-wan" ? "" : " (the goal is set for branch and lossy-wan)";
        yield return $"{r.Contender}: {r.Workload} key-to-echo p99 {text} ≤ RTT + 100 = {limit:0} ms: {(p99 <= limit ? "met" : "NOT met")}{scope}";
        if (plain is { Keys: > 0 })
        {
            var plainP99 = EchoP99(plain);
            var plainText = double.IsPositiveInfinity(plainP99) ? "∞" : $"{plainP99:0} ms";
            var plainNote = plain.Ok < plain.Runs && plain.Errors.Count > 0 ? $" (plain's keys until its run failed: {plain.Errors[0]})" : "";
            yield return $"{r.Contender}: {r.Workload} key-to-echo p99 {text} ≤ 0.5 × plain's {plainText}: {(p99 <= 0.5 * plainP99 ? "met" : "NOT met")}{plainNote}";
        }

        yield return $"{r.Contender}: {r.Workload} keys without echo {r.KeysWithoutEcho} of {r.Keys} = 0: {(r.KeysWithoutEcho == 0 ? "met" : "NOT met")}";
    }

    /// <summary>
    /// Whether this kernel has sch_netem, tried on the loopback of a scratch namespace. The suite always uses its
    /// userspace emulator (the same one on every machine, with lateness measured); this only records what tc could do.
    /// </summary>
    public static string KernelNetem()
    {
        var ns = "sa-tcprobe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            if (NetemLink.Shell.Run("ip", "netns", "add", ns).ExitCode != 0)
            {
                return "not checked (cannot create a namespace)";
            }

            NetemLink.Shell.Run("ip", "-n", ns, "link", "set", "lo", "up");
            var (rc, output) = NetemLink.Shell.Run("tc", "-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms");
            return rc == 0 ? "available (not used)" : "unavailable (" + output.Trim().Split('\n')[0] + ")";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
        {
            return "not checked (" + ex.Message + ")";
        }
        finally
        {
            NetemLink.Shell.Run("ip", "netns", "del", ns);
        }
    }

    public static Dictionary<string, string> Machine()
    {
        string Cmd(string f, params string[] a)
        {
            try
            {
                return NetemLink.Shell.Run(f, a).Output.Split('\n')[0].Trim();
            }
            catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or TimeoutException)
            {
                return "?";
            }
        }

        return new Dictionary<string, string>
        {
            ["kernel"] = Cmd("uname", "-r"),
            ["cpus"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["os"] = File.Exists("/etc/debian_version") ? "Debian " + File.ReadAllText("/etc/debian_version").Trim() : "?",
            [".NET"] = Environment.Version.ToString(),
            ["xserver-xspice"] = Cmd("dpkg-query", "-W", "-f=${Version}", "xserver-xspice"),
            ["spice-client-gtk"] = Cmd("dpkg-query", "-W", "-f=${Version}", "spice-client-gtk"),
            ["kcptun"] = Cmd("dpkg-query", "-W", "-f=${Version}", "kcptun"),
            ["link emulator"] = "NetemLink (userspace, TUN); kernel tc netem: " + KernelNetem(),
        };
    }
}
