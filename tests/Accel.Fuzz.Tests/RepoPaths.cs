namespace Accel.Fuzz.Tests;

/// <summary>The repository's fuzzing folders, found from the test's own location.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>tests/Fuzz/corpus/TARGET: the committed seeds.</summary>
    public static string Corpus(string target) => Path.Combine(Root, "tests", "Fuzz", "corpus", target);

    /// <summary>tests/Fuzz/crashes/TARGET: inputs that crashed a parser once (each fixed, each replayed here).</summary>
    public static string Crashes(string target) => Path.Combine(Root, "tests", "Fuzz", "crashes", target);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SpiceAccel.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("SpiceAccel.sln not found above " + AppContext.BaseDirectory);
    }
}
