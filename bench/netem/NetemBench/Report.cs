using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NetemBench;

/// <summary>Writes report.md (human) and report.json (regression tracking) into the report directory.</summary>
public static class Report
{
    public static void Write(string dir, string command, List<ProfileResult> results)
    {
        var json = JsonSerializer.Serialize(new
        {
            schema = "spiceaccel-netem/1",
            createdUtc = DateTime.UtcNow,
            command,
            machine = Machine(),
            profiles = results,
        }, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals });
        File.WriteAllText(Path.Combine(dir, "report.json"), json);
        File.WriteAllText(Path.Combine(dir, "report.md"), Markdown(command, results));
    }

    public static string Markdown(string command, List<ProfileResult> results)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine("# netem benchmark report").AppendLine();
        sb.AppendLine(inv, $"- command: `{command}`");
        foreach (var (k, v) in Machine())
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
                sb.AppendLine(inv, $"| rate down (UDP at 130 % offered load) | {l.AskedRateMbit} Mbit/s | {l.MeasuredRateDownMbit:0.00} Mbit/s |");
                sb.AppendLine(inv, $"| emulator timer lateness mean / max | — | {l.TimerLatenessMeanMs:0.000} ms / {l.TimerLatenessMaxMs:0.000} ms |");
                sb.AppendLine();
                sb.AppendLine(l.Deviations.Count == 0 ? "Link within 5 % of the profile." : "**Link deviations > 5 %:** " + string.Join("; ", l.Deviations));
                sb.AppendLine();
            }

            sb.AppendLine("| contender | workload | status | median s | min–max s | × plain (median) | WAN KB up | WAN KB down | CPU s per run |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var r in pr.Rows)
            {
                var plain = pr.Rows.FirstOrDefault(x => x.Contender == "plain" && x.Workload == r.Workload)?.MedianSeconds;
                var ratio = r.MedianSeconds is { } m && plain is { } b && b > 0 ? (m / b).ToString("0.00", inv) : "—";
                var cpu = string.Join(", ", r.CpuSeconds.Select(kv => $"{kv.Key} {kv.Value.ToString("0.00", inv)}"));
                sb.AppendLine(inv, $"| {r.Contender} | {r.Workload} | {r.Status} ({r.Ok}/{r.Runs}) | {Fmt(r.MedianSeconds)} | {Fmt(r.MinSeconds)}–{Fmt(r.MaxSeconds)} | {ratio} | {r.WanBytesUp / 1024:0.0} | {r.WanBytesDown / 1024:0.0} | {cpu} |");
            }

            sb.AppendLine();
        }

        sb.AppendLine("Plots: not produced (no plotting package on this machine).");
        return sb.ToString();

        static string Fmt(double? v) => v is { } x ? x.ToString("0.000", CultureInfo.InvariantCulture) : "—";
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
            ["link emulator"] = "NetemLink (userspace, TUN)",
        };
    }
}
