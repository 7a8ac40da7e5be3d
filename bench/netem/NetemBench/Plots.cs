using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace NetemBench;

/// <summary>Latency distribution plots (empirical CDFs) drawn with gnuplot (Debian gnuplot-nox, installed by the setup).</summary>
public static class Plots
{
    /// <summary>
    /// Writes a PNG with one empirical CDF per series (x = value, y = fraction of samples ≤ x); log x when the values
    /// span more than 50×. Returns null on success, else why not (gnuplot missing or failing) — it never throws for that.
    /// </summary>
    public static string? WriteLatencyCdf(string pngPath, string title, string xLabel, IReadOnlyList<(string Label, IReadOnlyList<double> Values)> series)
    {
        var usable = series.Where(s => s.Values.Count > 0).ToList();
        if (usable.Count == 0)
        {
            return "no samples";
        }

        var inv = CultureInfo.InvariantCulture;
        var script = new StringBuilder();
        double min = double.MaxValue, max = double.MinValue;
        for (var i = 0; i < usable.Count; i++)
        {
            var sorted = usable[i].Values.Order().ToArray();
            min = Math.Min(min, sorted[0]);
            max = Math.Max(max, sorted[^1]);
            script.AppendLine(inv, $"$d{i} << EOD");
            for (var k = 0; k < sorted.Length; k++)
            {
                script.AppendLine(inv, $"{sorted[k]:0.###} {(k + 1) / (double)sorted.Length:0.#####}");
            }

            script.AppendLine("EOD");
        }

        script.AppendLine("set terminal png size 1000,600 noenhanced");
        script.AppendLine(inv, $"set output {Quote(pngPath)}");
        script.AppendLine(inv, $"set title {Quote(title)}");
        script.AppendLine(inv, $"set xlabel {Quote(xLabel)}");
        script.AppendLine("set ylabel 'fraction of samples <= x'");
        script.AppendLine("set yrange [0:1.02]");
        script.AppendLine("set grid");
        script.AppendLine("set key bottom right");
        if (min > 0 && max / min > 50)
        {
            script.AppendLine("set logscale x");
        }

        var plots = usable.Select((s, i) =>
        {
            var st = Stats.Of(s.Values.ToList());
            var label = string.Create(inv, $"{s.Label} (n={st.Count}, p50 {st.P50:0}, p99 {st.P99:0})");
            return string.Create(inv, $"$d{i} using 1:2 with steps linewidth 2 title {Quote(label)}");
        });
        script.AppendLine("plot " + string.Join(", ", plots));

        try
        {
            var psi = new ProcessStartInfo("gnuplot")
            {
                RedirectStandardInput = true,
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var p = Process.Start(psi)!;
            var stderr = p.StandardError.ReadToEndAsync();
            p.StandardInput.Write(script.ToString());
            p.StandardInput.Close();
            if (!p.WaitForExit(10_000))
            {
                p.Kill(true);
                return "gnuplot did not finish within 10 s";
            }

            var err = stderr.Result.Trim();
            return p.ExitCode == 0 && File.Exists(pngPath) ? null : $"gnuplot exit {p.ExitCode}: {err}";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return "gnuplot not found (Debian package gnuplot-nox; ./eng/setup.sh installs it): " + ex.Message;
        }
    }

    /// <summary>A gnuplot single-quoted string ('' escapes a quote).</summary>
    private static string Quote(string s) => "'" + s.Replace("'", "''", StringComparison.Ordinal) + "'";
}
