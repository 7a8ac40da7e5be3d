using System.CommandLine;
using System.CommandLine.Invocation;
using Accel.Edge.Commands;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Accel.Edge;

internal static class Program
{
    /// <summary>Exit code of a command line that cannot be understood (unknown option, missing value).</summary>
    public const int ExitUsage = 2;

    /// <summary>sysexits EX_CONFIG: the configuration is wrong; systemd's RestartPreventExitStatus keeps it from looping.</summary>
    public const int ExitConfig = 78;

    /// <summary>sysexits EX_OSERR: the system refused (a port in use, a file that cannot be read).</summary>
    public const int ExitOsError = 71;

    public static async Task<int> Main(string[] args)
    {
        var result = Cli.CreateRoot().Parse(args);
        if (result.Action is ParseErrorAction && result.Errors.Count > 0)
        {
            foreach (var error in result.Errors)
            {
                Console.Error.WriteLine("spiceaccel: " + error.Message);
            }

            Console.Error.WriteLine($"Try 'spiceaccel {CommandPath(result)}--help'.");
            return ExitUsage;
        }

        try
        {
            return await result.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false }).ConfigureAwait(false);
        }
        catch (UsageException ex)
        {
            return Fail(ex.Message);
        }
    }

    internal static int Fail(string message, int exitCode = ExitUsage)
    {
        Console.Error.WriteLine("spiceaccel: " + message);
        return exitCode;
    }

    private static string CommandPath(ParseResult result)
        => result.CommandResult.Command is RootCommand ? string.Empty : result.CommandResult.Command.Name + " ";
}

internal sealed class UsageException(string message) : Exception(message);
