using System.Runtime.CompilerServices;
using Accel.Edge.Options;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Accel.Edge.Hosting;

/// <summary>Builds the generic host for one role: JSON file, then SPICEACCEL_ environment, then command line.</summary>
internal static class EdgeHost
{
    public static IHost Build(EdgeRole role, string? configFile, string[] overrides)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = false,
            Args = [],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        if (configFile is not null)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        builder.Configuration.AddEnvironmentVariables("SPICEACCEL_");
        builder.Configuration.AddCommandLine(overrides);

        // Until the host has started, a start failure is reported by `spiceaccel server|client` on one line that
        // names the key; the host's own error (with its stack trace) would only repeat it.
        var started = new StrongBox<bool>();
        builder.Logging.AddFilter((category, level) => started.Value || level >= LogLevel.Critical || category != HostCategory);
        builder.Services.AddSystemd();
        builder.Services.AddHostedService(sp => new StartedFlag(sp.GetRequiredService<IHostApplicationLifetime>(), started));
        builder.Services.AddHostedService<ServiceNotifier>();
        builder.Services.AddOptions<EdgeOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EdgeOptions>>(new EdgeOptionsValidator(role));
        builder.Services.AddSingleton(sp => new Status.EdgeActivity(role, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Status.EdgeActivity>>()));
        builder.Services.AddHostedService<MetricsExporter>();
        builder.Services.AddHostedService(static sp => new WatchdogNotifier(sp.GetRequiredService<Status.EdgeActivity>(), sp.GetRequiredService<IOptions<EdgeOptions>>(), sp.GetRequiredService<ILogger<WatchdogNotifier>>(), TimeProvider.System));
        builder.Services.AddHostedService(sp => new ReloadOnHangup(sp, sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<IOptions<EdgeOptions>>(), role, sp.GetRequiredService<ILogger<ReloadOnHangup>>()));
        if (role == EdgeRole.Server)
        {
            builder.Services.AddSingleton<ServerEdgeService>();
            builder.Services.AddHostedService(static sp => sp.GetRequiredService<ServerEdgeService>());
        }
        else
        {
            builder.Services.AddSingleton<ClientEdgeService>();
            builder.Services.AddHostedService(static sp => sp.GetRequiredService<ClientEdgeService>());
        }

        return builder.Build();
    }

    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    private sealed class StartedFlag(IHostApplicationLifetime lifetime, StrongBox<bool> started) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            lifetime.ApplicationStarted.Register(() => started.Value = true);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
