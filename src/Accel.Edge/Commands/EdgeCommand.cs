using System.CommandLine;
using Accel.Edge.Hosting;
using Accel.Edge.Options;
using Microsoft.Extensions.Hosting;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel server|client: runs one edge until SIGTERM.</summary>
internal static class EdgeCommand
{
    public static Command Create(EdgeRole role)
    {
        var verb = Verb(role);
        var config = Cli.ConfigOption(required: false);
        var command = new Command(verb, role == EdgeRole.Server
            ? "run the server edge (next to the SPICE server)"
            : "run the client edge (next to remote-viewer)")
        {
            config,
        };
        command.Description += """


            Configuration comes from the JSON file, then environment variables with the prefix SPICEACCEL_
            (SPICEACCEL_Transport__Engine=ngtcp2), then --Section:Key=Value arguments. It is checked at start: every
            problem is printed on one line that names its key, and the exit code is 78 (71 when the system refuses,
            e.g. a port in use). Under systemd (Type=notify) readiness is reported once every listener is bound.
            See docs/configuration.md for every key.
            """;
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (result, cancellationToken) =>
        {
            var overrides = result.UnmatchedTokens;
            foreach (var token in overrides)
            {
                if (!IsOverride(token))
                {
                    return Program.Fail($"unknown option '{token}' (configuration overrides look like --Section:Key=Value)");
                }
            }

            return await RunAsync(role, result.GetValue(config), [.. overrides]).ConfigureAwait(false);
        });
        return command;
    }

    internal static string Verb(EdgeRole role) => role == EdgeRole.Server ? "server" : "client";

    internal static bool IsOverride(string token)
    {
        var eq = token.IndexOf('=', StringComparison.Ordinal);
        return token.StartsWith("--", StringComparison.Ordinal) && eq > 2 && token.AsSpan(2, eq - 2).Contains(':');
    }

    private static async Task<int> RunAsync(EdgeRole role, string? configFile, string[] overrides)
    {
        var verb = Verb(role);
        try
        {
            using var host = EdgeConfiguration.BuildChecked(role, configFile, overrides);
            await host.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (EdgeConfigurationException ex)
        {
            foreach (var line in ex.Problems)
            {
                Console.Error.WriteLine($"spiceaccel {verb}: {line}");
            }

            return ex.ExitCode;
        }
        catch (EdgeStartException ex)
        {
            Console.Error.WriteLine($"spiceaccel {verb}: {ex.Message}");
            return ex.ExitCode;
        }
        catch (PlatformNotSupportedException ex)
        {
            Console.Error.WriteLine($"spiceaccel {verb}: Transport:Engine: {ex.Message}");
            return 69; // EX_UNAVAILABLE
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug, not an operator's mistake: keep the stack trace.
            Console.Error.WriteLine($"spiceaccel {verb}: failed: {ex}");
            return 70; // EX_SOFTWARE
        }
    }
}
