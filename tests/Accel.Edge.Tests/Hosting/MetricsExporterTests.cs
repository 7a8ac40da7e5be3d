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
}
