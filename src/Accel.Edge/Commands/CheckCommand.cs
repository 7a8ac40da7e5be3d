using System.CommandLine;
using Accel.Edge.Hosting;
using Accel.Edge.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel check: validates a configuration exactly as the edge would at start, without starting it.</summary>
internal static class CheckCommand
{
    public static Command Create()
    {
        var config = Cli.ConfigOption(required: true);
        var role = new Option<EdgeRole?>("--role") { Description = "server or client; by default a file with Client:ServerEdges is a client's" };
        var command = new Command("check", """
            validate a configuration file without starting the edge

            Reads the file as the edge would (JSON, then SPICEACCEL_ environment variables), reports unknown keys,
            values of the wrong type, missing or unreadable files (as the user running the check) and every rule the
            edge checks at start, one line per problem naming its key. Exit 0 when valid, 78 when not.
            """)
        {
            config, role,
        };
        command.SetAction(result => Run(result.GetRequiredValue(config), result.GetValue(role)));
        return command;
    }

    private static int Run(string file, EdgeRole? role)
    {
        var r = role ?? Guess(file);
        try
        {
            using var host = EdgeConfiguration.BuildChecked(r, file, []);
            var o = host.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;
            var summary = r == EdgeRole.Server
                ? $"server edge on udp {o.Server.Listen}; client edges: {string.Join(", ", o.Server.ClientPins.Keys)}; {o.Server.AllowedBackends.Count} allowed backend ranges"
                : $"client edge; server edges: {string.Join(", ", o.Client.ServerEdges.Keys)}; {o.Client.Listeners.Count} listeners";
            Console.Out.WriteLine($"{file}: valid {summary}");
            return 0;
        }
        catch (EdgeConfigurationException ex)
        {
            foreach (var line in ex.Problems)
            {
                Console.Error.WriteLine(line);
            }

            return ex.ExitCode;
        }
    }

    // An unreadable or malformed file: BuildChecked reports the problem properly.
    private static EdgeRole Guess(string file)
        => EdgeConfiguration.TryReadJson(file, out var configuration, out _) ? EdgeConfiguration.GuessRole(configuration) : EdgeRole.Server;
}
