using Accel.Edge.Commands;
using Accel.Edge.Hosting;
using Accel.Edge.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Accel.Edge;

internal static class Program
{
    public const string Usage = """
        spiceaccel — SPICE remote desktops over lossy WAN links, through a pair of edges.

        Usage: spiceaccel <verb> [options]

        Verbs:
          server     run the server edge (next to the SPICE server)
          client     run the client edge (next to remote-viewer)
          keygen     make an edge identity (certificate + key) and print its pin
          pin        print the SPKI SHA-256 pin of a certificate
          nft-rule   print or install the nftables rule for transparent mode
          demo       run Xspice, both edges and spice-gtk on this machine and show it working
          version    print versions of the program and of the QUIC engines

        `spiceaccel <verb> --help` tells more about each verb.
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Out.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        var verb = args[0];
        var rest = args[1..];
        try
        {
            return verb switch
            {
                "server" => await RunEdgeAsync(EdgeRole.Server, rest).ConfigureAwait(false),
                "client" => await RunEdgeAsync(EdgeRole.Client, rest).ConfigureAwait(false),
                "keygen" => KeygenCommand.Run(rest),
                "pin" => PinCommand.Run(rest),
                "nft-rule" => await NftRuleCommand.RunAsync(rest).ConfigureAwait(false),
                "demo" => await DemoCommand.RunAsync(rest).ConfigureAwait(false),
                "version" => VersionCommand.Run(rest),
                _ => Fail($"unknown verb '{verb}'\n\n{Usage}"),
            };
        }
        catch (UsageException ex)
        {
            return Fail(ex.Message);
        }
    }

    internal static int Fail(string message)
    {
        Console.Error.WriteLine("spiceaccel: " + message);
        return 2;
    }

    private const string EdgeUsage = """
        Usage: spiceaccel {0} --config FILE [--Key=Value ...]

        Runs the {0} edge. Configuration comes from the JSON file, then environment variables with the prefix
        SPICEACCEL_ (SPICEACCEL_Transport__Engine=ngtcp2), then --Section:Key=Value overrides on the command line.
        The configuration is validated at start; every problem is printed with the key that is wrong.
        Under systemd (Type=notify) readiness is reported once every listener is bound, and logs go to journald.
        See systemd/{0}.example.json and docs/configuration.md for every key.
        """;

    private static async Task<int> RunEdgeAsync(EdgeRole role, string[] args)
    {
        var verb = role == EdgeRole.Server ? "server" : "client";
        string? config = null;
        var overrides = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-h" or "--help":
                    Console.Out.WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, EdgeUsage, verb));
                    return 0;
                case "--config" or "-c":
                    config = i + 1 < args.Length ? args[++i] : throw new UsageException("--config needs a file");
                    break;
                default:
                    overrides.Add(args[i]);
                    break;
            }
        }

        if (config is not null && !File.Exists(config))
        {
            return Fail($"configuration file '{config}' does not exist");
        }

        using var host = EdgeHost.Build(role, config, [.. overrides]);
        try
        {
            // Validate before the host starts, so a bad configuration is reported once, without a stack trace.
            _ = host.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;
            await host.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            Console.Error.WriteLine($"spiceaccel {verb}: invalid configuration:");
            foreach (var failure in ex.Failures)
            {
                Console.Error.WriteLine("  " + failure);
            }

            return 78; // EX_CONFIG: systemd's RestartPreventExitStatus keeps a broken config from looping
        }
        catch (InvalidOperationException ex) when (ex.InnerException is System.Net.Sockets.SocketException or System.Net.HttpListenerException)
        {
            Console.Error.WriteLine($"spiceaccel {verb}: {ex.Message}");
            return 71;
        }
        catch (PlatformNotSupportedException ex)
        {
            Console.Error.WriteLine($"spiceaccel {verb}: {ex.Message}");
            return 69;
        }
    }
}

internal sealed class UsageException(string message) : Exception(message);
