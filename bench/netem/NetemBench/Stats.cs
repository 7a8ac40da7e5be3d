using System.Globalization;
using System.Text.RegularExpressions;
using NetemBench.Probe;

namespace NetemBench;

/// <summary>Order statistics of a sample (nearest-rank percentiles); all NaN when empty.</summary>
public sealed record Stats(int Count, double P50, double P95, double P99, double Max, double Mean)
{
    public static Stats Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return new Stats(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = values.Order().ToArray();
        double P(double q) => sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)];
        return new Stats(sorted.Length, P(0.50), P(0.95), P(0.99), sorted[^1], sorted.Average());
    }
}

/// <summary>X geometry strings: WxH+X+Y.</summary>
public static partial class Geometry
{
    public static ScreenRect Parse(string geometry)
    {
        var m = GeometryRegex().Match(geometry);
        if (!m.Success)
        {
            throw new ArgumentException($"geometry '{geometry}' is not WxH+X+Y");
        }

        int G(int i) => int.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        return ScreenRect.FromGeometry(G(3), G(4), G(1), G(2));
    }

    [GeneratedRegex(@"^(\d+)x(\d+)\+(-?\d+)\+(-?\d+)$")]
    private static partial Regex GeometryRegex();
}
