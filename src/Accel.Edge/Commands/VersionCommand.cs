using Accel.Edge.Hosting;

namespace Accel.Edge.Commands;

internal static class VersionCommand
{
    public static int Run(string[] args)
    {
        if (args.Length > 0 && args[0] is "-h" or "--help")
        {
            Console.Out.WriteLine("Usage: spiceaccel version\n\nPrints the program version and, for each QUIC engine, whether it is usable here.");
            return 0;
        }

        Console.Out.WriteLine($"spiceaccel {typeof(Program).Assembly.GetName().Version} on .NET {Environment.Version}");
        foreach (var engine in EngineFactory.All())
        {
            Console.Out.WriteLine(engine.IsSupported
                ? $"  engine {engine.Name}: {engine.Version}"
                : $"  engine {engine.Name}: unavailable ({engine.UnsupportedReason})");
        }

        return 0;
    }
}
