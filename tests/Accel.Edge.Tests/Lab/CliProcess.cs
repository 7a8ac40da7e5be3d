using System.Diagnostics;

namespace Accel.Edge.Tests.Lab;

/// <summary>The built spiceaccel CLI as a child process: exit code, standard output and standard error.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Out, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>
    /// The build output copied once per test run where any user can read it: run as another user, the CLI must not
    /// depend on the checkout's path being traversable (a clone in a 0700 directory is not). Removed at exit.
    /// </summary>
    private static readonly Lazy<Task<string>> s_readableDll = new(async () =>
    {
        var dir = Directory.CreateTempSubdirectory("spiceaccel-cli-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // Left in the temp directory: never worth failing the run at exit.
            }
        };
        var app = Path.Combine(dir, "app");
        await Shell.RunAsync("cp", ["-a", Path.GetDirectoryName(EdgeProcess.DllPath)!, app]);
        await Shell.RunAsync("chmod", ["-R", "a+rX", dir]);
        return Path.Combine(app, Path.GetFileName(EdgeProcess.DllPath));
    });

    /// <summary>Runs `spiceaccel ARGS` (as <paramref name="user"/> through setpriv when given) with a deadline.</summary>
    public static async Task<Result> RunAsync(string[] args, string? user = null, string? stdin = null, string? workingDirectory = null, IReadOnlyDictionary<string, string>? env = null)
    {
        var group = user is null ? null : (await Shell.RunAsync("id", ["-gn", user])).Trim();
        var prefix = user is null ? [] : new[] { "setpriv", $"--reuid={user}", $"--regid={group}", "--clear-groups" };
        var dll = user is null ? EdgeProcess.DllPath : await s_readableDll.Value;
        string[] command = [.. prefix, "/usr/share/dotnet/dotnet", dll, .. args];
        var psi = new ProcessStartInfo(command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? (user is null ? Environment.CurrentDirectory : Path.GetDirectoryName(dll)),
        };
        foreach (var a in command[1..])
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment.Remove("NOTIFY_SOCKET");
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start spiceaccel");
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin);
            p.StandardInput.Close();
        }

        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("spiceaccel " + string.Join(' ', args) + " timed out");
        }

        return new Result(p.ExitCode, await stdout, await stderr);
    }
}
