using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Accel.Edge.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Accel.Edge.Hosting;

/// <summary>
/// Loads and checks an edge's configuration the same way for `server`, `client` and `check`: the file is readable
/// JSON, every key is known and holds a value of the right type, and the validator is content. Anything wrong is an
/// <see cref="EdgeConfigurationException"/> whose lines name their keys; nothing is bound half-way.
/// </summary>
internal static class EdgeConfiguration
{
    public static IHost BuildChecked(EdgeRole role, string? configFile, string[] overrides)
    {
        if (configFile is not null)
        {
            CheckReadable(configFile);
        }

        IHost host;
        try
        {
            host = EdgeHost.Build(role, configFile, overrides);
        }
        catch (InvalidDataException ex)
        {
            throw new EdgeConfigurationException([$"{configFile}: {JsonProblem(ex)}"]);
        }
        catch (FormatException ex)
        {
            // Duplicate keys, or a command-line override that is not Key=Value.
            throw new EdgeConfigurationException([$"{configFile ?? "command line"}: {ex.Message}"]);
        }

        try
        {
            var problems = ConfigurationKeys.Check(host.Services.GetRequiredService<IConfiguration>());
            if (problems.Count > 0)
            {
                throw new EdgeConfigurationException(problems);
            }

            _ = host.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;
            return host;
        }
        catch (OptionsValidationException ex)
        {
            host.Dispose();
            throw new EdgeConfigurationException([.. ex.Failures]);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Reads a JSON configuration file alone (no environment, no validation), for the verbs that only look.</summary>
    public static bool TryReadJson(string file, [NotNullWhen(true)] out IConfiguration? configuration, out string error)
    {
        try
        {
            configuration = new ConfigurationBuilder().AddJsonFile(Path.GetFullPath(file), optional: false).Build();
            error = string.Empty;
            return true;
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or IOException or UnauthorizedAccessException)
        {
            configuration = null;
            error = $"{file}: {ex.Message}";
            return false;
        }
    }

    /// <summary>The role a configuration file is for: client when it names server edges, else server.</summary>
    public static EdgeRole GuessRole(IConfiguration configuration)
        => configuration.GetSection("Client:ServerEdges").GetChildren().Any() || configuration.GetSection("Client:Listeners").GetChildren().Any()
            ? EdgeRole.Client
            : EdgeRole.Server;

    private static void CheckReadable(string path)
    {
        if (Directory.Exists(path) || !File.Exists(path))
        {
            throw new EdgeConfigurationException([$"{path}: the configuration file does not exist"]);
        }

        try
        {
            using var _ = File.OpenRead(path);
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            throw new EdgeConfigurationException([$"{path}: the configuration file cannot be read ({ex.Message})"]);
        }
    }

    private static string JsonProblem(InvalidDataException ex)
    {
        Exception? inner = ex;
        while (inner is not null and not JsonException)
        {
            inner = inner.InnerException;
        }

        if (inner is JsonException json)
        {
            var reason = json.Message;
            var cut = reason.IndexOf(" Path:", StringComparison.Ordinal);
            reason = cut > 0 ? reason[..cut] : reason;
            cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
            reason = cut > 0 ? reason[..cut] : reason;
            return json.LineNumber is { } line
                ? $"malformed JSON at line {line + 1}, column {json.BytePositionInLine + 1}: {reason.Trim()}"
                : "malformed JSON: " + reason.Trim();
        }

        return "malformed JSON: " + (ex.InnerException?.Message ?? ex.Message);
    }
}
