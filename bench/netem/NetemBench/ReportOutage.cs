using System.Globalization;
using System.Text;
using NetemBench.Probe;

namespace NetemBench;

/// <summary>The report's outage table (issue #11): per contender and scenario, survived, keys exact, next echo after the link's return.</summary>
internal static class ReportOutage
{
    public static void Table(StringBuilder sb, ProfileResult pr)
    {
        var rows = pr.Rows.Where(r => r.Workload == OutageWorkload.Workload && r.Figures.Count > 0).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        var prefixes = rows.SelectMany(r => r.Figures.Keys).Where(k => k.EndsWith(".survived", StringComparison.Ordinal))
            .Select(k => k[..k.IndexOf('.', StringComparison.Ordinal)]).Distinct()
            .OrderBy(p => p == OutageWorkload.RouteChange ? int.MaxValue : p == OutageWorkload.AddressChange ? int.MaxValue - 1 : int.Parse(p[6..^1], inv)).ToList();
        sb.AppendLine("Outages (a live session typing a key every 250 ms through a total outage, every packet dropped both ways, and through a change of "
            + "the client's address (address change: a NAT in front of the branch rebinds; route change: the branch host's own address is replaced); keys = typed during the outage and until the next echo, received by the server exactly once and in order; "
            + "next echo = ms from the link's return, or from the address change, to the next echo at the client; means over the runs):").AppendLine();
        sb.AppendLine("| scenario | contender | survived | keys typed | keys exactly once, in order | next echo ms |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var prefix in prefixes)
        {
            foreach (var r in rows)
            {
                if (!r.Figures.TryGetValue(prefix + ".survived", out var survived))
                {
                    continue;
                }

                var name = prefix == OutageWorkload.AddressChange ? "address change" : prefix == OutageWorkload.RouteChange ? "route change" : $"outage {prefix[6..^1]} s";
                var echo = r.Figures.GetValueOrDefault(prefix + ".recoveryMs", double.NaN);
                sb.AppendLine(inv, $"| {name} | {r.Contender} | {YesNo(survived)} | {r.Figures.GetValueOrDefault(prefix + ".keysTyped"):0} | "
                    + $"{YesNo(r.Figures.GetValueOrDefault(prefix + ".keysExact"))} | {(double.IsNaN(echo) ? "none" : echo.ToString("0", inv))} |");
            }
        }

        sb.AppendLine();

        static string YesNo(double v) => v >= 1 ? "yes" : v <= 0 ? "no" : $"{v:0%} of runs";
    }
}
