using Accel.Edge.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Accel.Edge.Hosting;

/// <summary>
/// Serves the Core meter (Accel.Core.Diagnostics.AccelMetrics) as Prometheus text on http://Metrics:Listen/metrics.
/// The only place that knows about Prometheus.
/// </summary>
internal sealed partial class MetricsExporter(IOptions<EdgeOptions> options, ILogger<MetricsExporter> logger) : IHostedService, IDisposable
{
    private MetricServer? _server;
    private IDisposable? _adapter;

    public static CollectorRegistry CreateRegistry(out IDisposable adapter)
    {
        var registry = Metrics.NewCustomRegistry();
        adapter = new PrometheusBridge(registry);
        return registry;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var listen = options.Value.Metrics.Listen;
        if (string.IsNullOrEmpty(listen))
        {
            return Task.CompletedTask;
        }

        Endpoints.TryParseHostPort(listen, out var host, out var port);
        var registry = CreateRegistry(out _adapter);
        _server = new MetricServer(host!, port, "metrics/", registry);
        try
        {
            _server.Start();
        }
        catch (Exception ex) when (ex is System.Net.HttpListenerException or InvalidOperationException)
        {
            throw new InvalidOperationException($"Metrics:Listen: cannot serve metrics on {listen}: {ex.Message}", ex);
        }

        Serving(logger, listen);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        _server?.Dispose();
        _adapter?.Dispose();
    }

    [LoggerMessage(2201, LogLevel.Information, "Prometheus metrics on http://{Listen}/metrics")]
    private static partial void Serving(ILogger logger, string listen);
}
