using System.CommandLine;

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
        };
        return root;
    }

    /// <summary>--config FILE, shared by the verbs that read an edge's configuration.</summary>
    public static Option<string> ConfigOption(bool required) => new("--config", "-c")
    {
        Description = "the edge's JSON configuration (e.g. /etc/spiceaccel/server.json)",
        Required = required,
        HelpName = "FILE",
    };
}
