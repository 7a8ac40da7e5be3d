using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Accel.Fuzz.Tests;

/// <summary>
/// The real path, as CI runs it: eng/fuzz.sh builds tests/Fuzz/Accel.Fuzz, instruments the product's assemblies with
/// sharpfuzz and runs afl-fuzz on every target for a few seconds from its committed corpus. A crash or a hang fails.
/// Two targets run at a time (the machine's two cores); the whole test stays near a minute after the build.
/// </summary>
public sealed partial class AflFuzzTests
{
    private const int SecondsPerTarget = 2;
    private static readonly TimeSpan s_buildTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan s_runTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task EveryTarget_FuzzedBrieflyWithAflPlusPlus_NoCrashNoHang()
    {
        Assert.True(File.Exists("/usr/bin/afl-fuzz"), "afl-fuzz is not installed (eng/setup.sh installs Debian's afl++)");
        var work = Directory.CreateTempSubdirectory("spiceaccel-fuzz-");
        try
        {
            var build = await RunAsync(work.FullName, s_buildTimeout, "--build");
            Assert.True(build.ExitCode == 0, "eng/fuzz.sh --build failed:\n" + build.Output);

            var failures = new List<string>();
            var executions = new Dictionary<string, long>();
            var cancel = TestContext.Current.CancellationToken;
            await Parallel.ForEachAsync(FuzzTargets.All, new ParallelOptions { MaxDegreeOfParallelism = 2, CancellationToken = cancel }, async (target, _) =>
            {
                var run = await RunAsync(work.FullName, s_runTimeout, target.Name, SecondsPerTarget.ToString(System.Globalization.CultureInfo.InvariantCulture));
                var summary = Summary().Match(run.Output);
                lock (failures)
                {
                    if (run.ExitCode != 0 || !summary.Success)
                    {
                        failures.Add($"{target.Name}: exit {run.ExitCode}\n{run.Output}");
                    }
                    else
                    {
                        executions[target.Name] = long.Parse(summary.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                    }
                }
            });

            Assert.True(failures.Count == 0, $"the inputs are kept in {work.FullName}/TARGET/default/crashes\n" + string.Join("\n\n", failures));
            Assert.All(executions, e => Assert.True(e.Value > 0, e.Key + " ran no input"));
            work.Delete(recursive: true);
        }
        catch
        {
            // Keep the findings for the failure message; drop the instrumented build.
            var bin = Path.Combine(work.FullName, "bin");
            if (Directory.Exists(bin))
            {
                Directory.Delete(bin, recursive: true);
            }

            throw;
        }
    }

    [GeneratedRegex(@": (\d+) executions in \d+ s .*, 0 crashes, 0 hangs")]
    private static partial Regex Summary();

    private static async Task<(int ExitCode, string Output)> RunAsync(string work, TimeSpan timeout, params string[] args)
    {
        // In a session of its own (setsid --wait: still our child, its exit code passed on): afl-fuzz, the fork server
        // and the instrumented dotnet processes then share no process group with the test host, so no signal meant
        // for their group can end the test run. (A fresh-clone run's test host once exited with code 0 in the middle
        // of this test, as after a SIGTERM its runner handles; its group was the only path to it found.)
        var start = new ProcessStartInfo("setsid")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        start.ArgumentList.Add("--wait");
        start.ArgumentList.Add(Path.Combine(RepoPaths.Root, "eng", "fuzz.sh"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["FUZZ_WORK"] = work;
        start.Environment["FUZZ_NO_BUILD"] = args[0] == "--build" ? "0" : "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"eng/fuzz.sh {string.Join(' ', args)} did not finish in {timeout}\n{await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
