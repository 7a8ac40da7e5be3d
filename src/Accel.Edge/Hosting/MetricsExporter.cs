using System.Net;
using System.Text;
using System.Text.Json;
using Accel.Edge.Options;
using Accel.Edge.Status;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Prometheus;

namespace Accel.Edge.Hosting;

/// <summary>
/// The edge's HTTP listener on Metrics:Listen (loopback by default): /metrics (Prometheus text of the Core meter,
/// plus spiceaccel_build_info and the process's standard series), /ready (200 when the edge is ready, else 503 with the reason) and /status (JSON
/// peers and sessions, read by `spiceaccel status`). Requests are served one at a time: it is for a scraper and an
/// operator, not for the public.
/// </summary>
internal sealed partial class MetricsExporter(IOptions<EdgeOptions> options, EdgeActivity activity, ILogger<MetricsExporter> logger) : BackgroundService
{
    private HttpListener? _http;
    private CollectorRegistry? _registry;
    private IDisposable? _adapter;

    public static CollectorRegistry CreateRegistry(out IDisposable adapter)
    {
        var registry = Metrics.NewCustomRegistry();
        adapter = new PrometheusBridge(registry);
        return registry;
    }

    /// <summary>The HttpListener prefix for host:port (a wildcard address listens on every address).</summary>
    internal static string Prefix(string host, ushort port)
    {
        var h = host switch
        {
            "0.0.0.0" or "::" or "*" or "+" => "+",
            _ when host.Contains(':', StringComparison.Ordinal) => $"[{host}]",
            _ => host,
        };
        return $"http://{h}:{port}/";
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var listen = options.Value.Metrics.Listen;
        if (string.IsNullOrEmpty(listen))
        {
            return Task.CompletedTask;
        }

        Endpoints.TryParseHostPort(listen, out var host, out var port);
        _registry = CreateRegistry(out _adapter);
        var factory = Metrics.WithCustomRegistry(_registry);
        factory.CreateGauge("spiceaccel_build_info", "Version and commit of the running edge (always 1)", "version", "commit", "role")
            .WithLabels(BuildInfo.Version, BuildInfo.Commit, EdgeCommand(activity.Role)).Set(1);
        var ready = factory.CreateGauge("spiceaccel_ready", "1 when the edge is ready (GET /ready answers 200), else 0");

        // The process's standard series: resident memory, threads, handles, CPU, and the managed heap beside them
        // (what a soak or a MemoryHigh= alert needs to tell a leak from the GC keeping memory it may reuse).
        DotNetStats.Register(_registry);
        _registry.AddBeforeCollectCallback(() => ready.Set(activity.NotReadyReason() is null ? 1 : 0));
        _http = new HttpListener();
        _http.Prefixes.Add(Prefix(host!, port));
        if (host is "127.0.0.1" or "::1")
        {
            // Host-header matching: curl http://localhost:9464/ready must work as well as the literal address.
            _http.Prefixes.Add(Prefix("localhost", port));
        }

        try
        {
            _http.Start();
        }
        catch (HttpListenerException ex)
        {
            throw new EdgeStartException($"Metrics:Listen: cannot serve on {listen}: {ex.Message}", ex);
        }

        Serving(logger, listen);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var http = _http;
        if (http is null)
        {
            return;
        }

        using var _ = stoppingToken.Register(http.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await http.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            try
            {
                await ServeAsync(context, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                RequestFailed(logger, context.Request.Url?.AbsolutePath ?? "?", ex.Message);
            }
            finally
            {
                context.Response.Close();
            }
        }
    }

    public override void Dispose()
    {
        // The base cancels the stopping token first, whose callback stops the listener that Close then disposes.
        base.Dispose();
        _http?.Close();
        _adapter?.Dispose();
    }

    private async Task ServeAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        var response = context.Response;
        switch (context.Request.Url?.AbsolutePath.TrimEnd('/'))
        {
            case "/metrics":
                response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                await _registry!.CollectAndExportAsTextAsync(response.OutputStream, timeout.Token).ConfigureAwait(false);
                break;
            case "/ready":
                var reason = activity.NotReadyReason();
                response.StatusCode = reason is null ? 200 : 503;
                await WriteTextAsync(response, reason is null ? "ready\n" : "not ready: " + reason + "\n", timeout.Token).ConfigureAwait(false);
                break;
            case "/status":
                response.ContentType = "application/json";
                await JsonSerializer.SerializeAsync(response.OutputStream, activity.Snapshot(), StatusJson.Default.StatusReport, timeout.Token).ConfigureAwait(false);
                break;
            case "" or null:
                await WriteTextAsync(response, "spiceaccel: /metrics (Prometheus), /ready, /status (JSON)\n", timeout.Token).ConfigureAwait(false);
                break;
            default:
                response.StatusCode = 404;
                await WriteTextAsync(response, "not found\n", timeout.Token).ConfigureAwait(false);
                break;
        }
    }

    private static async Task WriteTextAsync(HttpListenerResponse response, string text, CancellationToken cancellationToken)
    {
        response.ContentType ??= "text/plain; charset=utf-8";
        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
    }

    private static string EdgeCommand(EdgeRole role) => role == EdgeRole.Server ? "server" : "client";

    [LoggerMessage(2201, LogLevel.Information, "Metrics, readiness and status on http://{Listen}/ (/metrics, /ready, /status)")]
    private static partial void Serving(ILogger logger, string listen);

    [LoggerMessage(2202, LogLevel.Debug, "Request for {Path} failed: {Reason}")]
    private static partial void RequestFailed(ILogger logger, string path, string reason);
}
