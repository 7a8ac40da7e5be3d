using System.CommandLine;
using Accel.Edge.Hosting;

namespace Accel.Edge.Commands;

internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "print the version (with the commit) and whether each QUIC engine is usable here");
        command.SetAction(_ => Run());
        return command;
    }

    private static int Run()
    {
        Console.Out.WriteLine($"spiceaccel {BuildInfo.Version} (commit {BuildInfo.Commit}) on .NET {Environment.Version}");
        foreach (var engine in EngineFactory.All())
        {
            Console.Out.WriteLine(engine.IsSupported
                ? $"  engine {engine.Name}: {engine.Version}"
                : $"  engine {engine.Name}: unavailable ({engine.UnsupportedReason})");
        }

        return 0;
    }
}
