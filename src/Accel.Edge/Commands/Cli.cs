using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Accel.Edge.Commands;

/// <summary>The command tree: one verb per command class, each building its own <see cref="Command"/>.</summary>
internal static class Cli
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("spiceaccel: SPICE remote desktops over lossy WAN links, through a pair of edges.")
        {
            EdgeCommand.Create(Options.EdgeRole.Server),
            EdgeCommand.Create(Options.EdgeRole.Client),
            CheckCommand.Create(),
            StatusCommand.Create(),
            KeygenCommand.Create(),
            PinCommand.Create(),
            VvCommand.Create(),
            NftRuleCommand.Create(),
            DemoCommand.Create(),
            VersionCommand.Create(),
            CompletionCommand.Create(),
        };

        // A verb's description is one line in the list of verbs; the paragraphs after it are shown by `VERB --help`.
        var details = new Dictionary<Command, string>();
        foreach (var command in root.Subcommands)
        {
            var text = command.Description ?? string.Empty;
            var split = text.IndexOf("\n\n", StringComparison.Ordinal);
            if (split > 0)
            {
                command.Description = text[..split].Trim();
                details[command] = text[(split + 2)..].TrimEnd();
            }
        }

        var help = root.Options.OfType<HelpOption>().Single();
        help.Action = new DetailedHelpAction((SynchronousCommandLineAction)help.Action!, details);
        return root;
    }

    /// <summary>--config FILE, shared by the verbs that read an edge's configuration.</summary>
    public static Option<string> ConfigOption(bool required) => new("--config", "-c")
    {
        Description = "the edge's JSON configuration (e.g. /etc/spiceaccel/server.json)",
        Required = required,
        HelpName = "FILE",
    };

    private sealed class DetailedHelpAction(SynchronousCommandLineAction inner, Dictionary<Command, string> details) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var result = inner.Invoke(parseResult);
            if (details.TryGetValue(parseResult.CommandResult.Command, out var text))
            {
                parseResult.InvocationConfiguration.Output.WriteLine(text);
                parseResult.InvocationConfiguration.Output.WriteLine();
            }

            return result;
        }
    }
}
