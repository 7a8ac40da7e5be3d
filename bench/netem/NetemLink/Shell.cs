using System.Diagnostics;

namespace NetemLink;

/// <summary>Runs short setup commands (ip, kill) and captures their output.</summary>
public static class Shell
{
    public static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(30_000))
        {
            p.Kill(true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} timed out");
        }

        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    public static string Check(string file, params string[] args)
    {
        var (rc, output) = Run(file, args);
        if (rc != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({rc}): {output.Trim()}");
        }

        return output;
    }
}
