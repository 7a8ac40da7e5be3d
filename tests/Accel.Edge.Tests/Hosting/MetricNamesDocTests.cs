using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using Accel.Core.Diagnostics;
using Accel.Edge.Hosting;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.Hosting;

/// <summary>docs/configuration.md names exactly the metrics the edge exports, and deploy/ uses only those.</summary>
public sealed partial class MetricNamesDocTests
{
    [Fact]
    public void ConfigurationMd_MetricsTable_MatchesTheExportedNames()
    {
        var exported = ExportedNames();
        var section = File.ReadAllText(Path.Combine(Repo.Root, "docs", "configuration.md")).Split("## Metrics")[1].Split("\n## ")[0];
        var documented = NameRegex().Matches(section).Select(static m => m.Value).ToHashSet(StringComparer.Ordinal);

        Assert.Empty(documented.Except(exported));
        Assert.Empty(exported.Except(documented));
    }

    [Theory]
    [InlineData("deploy/grafana/spiceaccel-dashboard.json")]
    [InlineData("deploy/prometheus/spiceaccel-alerts.yml")]
    public void Deploy_UsesOnlyExportedNames(string file)
    {
        var exported = ExportedNames();
        var used = NameRegex().Matches(File.ReadAllText(Path.Combine(Repo.Root, file)))
            .Select(static m => Regex.Replace(m.Value, "_(bucket|sum|count)$", string.Empty))
            .ToHashSet(StringComparer.Ordinal);

        Assert.NotEmpty(used);
        Assert.Empty(used.Except(exported));
    }

    private static HashSet<string> ExportedNames()
    {
        _ = AccelMetrics.RelayBytes;
        _ = Accel.Core.Spice.Display.DisplayBudgetMetrics.AckHolds;
        _ = Accel.Core.Spice.Input.InputMetrics.PointerDatagrams;
        _ = Accel.Core.Spice.Display.DisplayCanvasMetrics.DrawsAbsorbed;
        _ = Accel.Core.Transport.Ngtcp2.ListenerMetrics.Retries;
        _ = Accel.Core.Relay.Compression.WanCompressionMetrics.Input;
        var names = new HashSet<string>(StringComparer.Ordinal) { "spiceaccel_build_info", "spiceaccel_ready" };
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) =>
        {
            // The product's one Meter, not the name: a test that makes its own meter of that name (MetricsExporterTests)
            // may run at the same time.
            if (ReferenceEquals(instrument.Meter, AccelMetrics.Meter))
            {
                names.Add(PrometheusBridge.PrometheusName(instrument));
            }
        };
        listener.Start();
        return names;
    }


    [GeneratedRegex(@"\bspiceaccel_[a-z_]+[a-z]")]
    private static partial Regex NameRegex();
}
