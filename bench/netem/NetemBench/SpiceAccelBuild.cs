using System.Diagnostics;

namespace SpiceAccel.BenchSupport;

/// <summary>
/// The daemon this repository builds, as the benchmarks run it (bench/netem and bench/Accel.Benchmarks link this file):
/// where its build output is, and a fresh identity made with its own <c>keygen</c>.
/// </summary>
internal static class SpiceAccelBuild
{
    /// <summary>src/Accel.Edge's Release build output (spiceaccel.dll) in the repository the caller runs from; it may not exist.</summary>
    public static string DefaultDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SpiceAccel.sln")))
        {
            dir = dir.Parent;
        }

        return Path.Combine(dir?.FullName ?? ".", "src", "Accel.Edge", "bin", "Release", "net10.0", "spiceaccel.dll");
    }

    /// <summary>Makes an identity NAME.crt/NAME.key in <paramref name="dir"/> with <c>spiceaccel keygen</c>; returns its pin.</summary>
    public static string Keygen(string dll, string dir, string name)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "keygen", "--out", dir, "--name", name, "--force" })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(30_000) || p.ExitCode != 0)
        {
            throw new InvalidOperationException("spiceaccel keygen failed: " + output);
        }

        return output.Split('\n').First(l => l.StartsWith("pin:", StringComparison.Ordinal))[4..].Trim();
    }
}
