using System.Globalization;

namespace NetemBench;

/// <summary>
/// Counters read from the SpiceAccel client edge's Prometheus endpoint (<c>Metrics:Listen</c>, in the branch namespace)
/// before and after a workload's runs: what the edge did that the WAN byte counts alone do not show.
/// </summary>
public static class EdgeCounters
{
    /// <summary>The client edge's input copies (issue #16's redundancy) and the inputs-stream bytes they protect.</summary>
    public static readonly string[] Names = ["spiceaccel_input_redundancy_bytes_total", "spiceaccel_input_payload_bytes_total"];

    /// <summary>Each name's value summed over its series; empty when the endpoint does not answer (not a SpiceAccel run).</summary>
    public static Dictionary<string, double> Read(string ns, int port)
    {
        var (code, output) = NetemLink.Shell.Run("ip", "netns", "exec", ns, "curl", "-s", "-m", "2", $"http://127.0.0.1:{port}/metrics");
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        if (code != 0)
        {
            return values;
        }

        foreach (var line in output.Split('\n'))
        {
            var name = line.Split(['{', ' '], 2)[0];
            if (Array.IndexOf(Names, name) >= 0 && double.TryParse(line[(line.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                values[name] = values.GetValueOrDefault(name) + v;
            }
        }

        return values;
    }
}
