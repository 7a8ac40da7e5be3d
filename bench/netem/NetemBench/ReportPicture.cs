using System.Globalization;
using System.Text;

namespace NetemBench;

/// <summary>The report's table of what the client showed under animation and slideshow (read from pixels, Probe/ProbeFrames.cs).</summary>
internal static class ReportPicture
{
    private static readonly string[] s_workloads = ["animation", "slideshow"];

    public static void Table(StringBuilder sb, ProfileResult pr)
    {
        var rows = pr.Rows.Where(r => s_workloads.Contains(r.Workload) && r.Samples.ContainsKey("markerLatencyMs"))
            .OrderBy(r => Array.IndexOf(s_workloads, r.Workload)).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("What the client showed (from the pixels of the probe's picture; animation: frames of 30/s whose marker became visible, "
            + "drawn → visible; slideshow: photos complete, drawn → complete; PSNR of the animated window against the frame its marker names, 99 = identical):").AppendLine();
        sb.AppendLine("| contender | workload | frames or photos /s | latency p50 / p95 / max ms | × plain p95 | freshness p50 / p95 / max ms | × plain p95 | PSNR p5 / p50 dB | torn samples | stream frames/s | photos never complete | WAN KB per s |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            var plain = pr.Rows.FirstOrDefault(x => x.Contender == "plain" && x.Workload == r.Workload);
            var latency = Stats.Of(r.Samples["markerLatencyMs"]);
            var fresh = Stats.Of(r.Samples.GetValueOrDefault("freshnessMs") ?? []);
            var seconds = r.Figures.GetValueOrDefault("markersPerSecond");
            var psnr = r.Samples.GetValueOrDefault("motionPsnrDb") is { Count: > 0 } q ? $"{Percentile(q, 0.05):0.0} / {Percentile(q, 0.5):0.0}" : "—";
            var kbPerSecond = r.MedianSeconds is > 0 ? ((r.WanBytesUp + r.WanBytesDown) / 1024 / r.MedianSeconds.Value).ToString("0", inv) : "—";
            sb.AppendLine(inv, $"| {r.Contender} | {r.Workload} | {seconds:0.0} | {Spread(latency)} | {Ratio(latency, plain, "markerLatencyMs")} "
                + $"| {Spread(fresh)} | {Ratio(fresh, plain, "freshnessMs")} | {psnr} | {Figure(r, "tornSamples", "0")} "
                + $"| {Figure(r, "streamFramesPerSecond", "0.0")} | {Figure(r, "photosIncomplete", "0")} | {kbPerSecond} |");
        }

        sb.AppendLine();
    }

    private static string Spread(Stats s) =>
        s.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $"{s.P50:0} / {s.P95:0} / {s.Max:0}") : "—";

    private static string Ratio(Stats s, ResultRow? plain, string key) =>
        plain is not null && plain.Samples.GetValueOrDefault(key) is { Count: > 0 } p && s.Count > 0
            ? (s.P95 / Stats.Of(p).P95).ToString("0.00", CultureInfo.InvariantCulture)
            : "—";

    private static string Figure(ResultRow r, string key, string format) =>
        r.Figures.TryGetValue(key, out var v) ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}
