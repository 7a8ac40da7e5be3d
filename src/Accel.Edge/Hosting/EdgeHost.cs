using Accel.Edge.Options;
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

        builder.Services.AddSystemd();
        builder.Services.AddHostedService<ServiceNotifier>();
        builder.Services.AddOptions<EdgeOptions>().Bind(builder.Configuration).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<EdgeOptions>>(new EdgeOptionsValidator(role));
        builder.Services.AddHostedService<MetricsExporter>();
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
}
