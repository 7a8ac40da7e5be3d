using Accel.Core.Diagnostics;
using Accel.Edge.Hosting;

namespace Accel.Edge.Tests.Hosting;

public class MetricsExporterTests
{
    [Fact]
    public async Task Registry_AfterCoreMeasurements_ExportsThemWithBoundedLabels()
    {
        var registry = MetricsExporter.CreateRegistry(out var adapter);
        using (adapter)
        {
            AccelMetrics.RelayBytes.Add(1234, AccelMetrics.Tags("channel", "display", "direction", "to_client"));
            AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", "NotAllowed"));

            using var stream = new MemoryStream();
            await registry.CollectAndExportAsTextAsync(stream, TestContext.Current.CancellationToken);
            var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());

            Assert.Contains("spiceaccel_relay_bytes", text, StringComparison.Ordinal);
            Assert.Contains("channel=\"display\"", text, StringComparison.Ordinal);
            Assert.Contains("reason=\"NotAllowed\"", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Registry_CoreHistogram_ExportsBucketsInSeconds()
    {
        var registry = MetricsExporter.CreateRegistry(out var adapter);
        using (adapter)
        using (var meter = new System.Diagnostics.Metrics.Meter(AccelMetrics.MeterName))
        {
            var delay = meter.CreateHistogram<double>("spiceaccel.test.delay", "s", "a test histogram");
            delay.Record(0.004);
            delay.Record(0.2);

            using var stream = new MemoryStream();
            await registry.CollectAndExportAsTextAsync(stream, TestContext.Current.CancellationToken);
            var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());

            Assert.Contains("# TYPE spiceaccel_test_delay_seconds histogram", text, StringComparison.Ordinal);
            Assert.Contains("spiceaccel_test_delay_seconds_bucket{le=\"0.005\"} 1", text, StringComparison.Ordinal);
            Assert.Contains("spiceaccel_test_delay_seconds_bucket{le=\"0.25\"} 2", text, StringComparison.Ordinal);
            Assert.Contains("spiceaccel_test_delay_seconds_count 2", text, StringComparison.Ordinal);
        }
    }
}
