using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.Win32.SafeHandles;
using static Tmds.Linux.LibC;

namespace Accel.Edge.Hosting;

/// <summary>A local user as the name service knows it (getent passwd), and fchown(2) through Tmds.LibC.</summary>
internal sealed record UnixUser(string Name, uint Uid, uint Gid)
{
    public static bool TryFind(string name, [NotNullWhen(true)] out UnixUser? user)
    {
        user = null;
        if (name.Length == 0 || name.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        var psi = new ProcessStartInfo("getent") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("passwd");
        psi.ArgumentList.Add(name);
        using var p = Process.Start(psi);
        if (p is null)
        {
            return false;
        }

        var line = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        var fields = line.Split(':');
        if (p.ExitCode != 0 || fields.Length < 4
            || !uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
            || !uint.TryParse(fields[3], NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
        {
            return false;
        }

        user = new UnixUser(fields[0], uid, gid);
        return true;
    }

    /// <summary>Gives an open file to this user and its primary group.</summary>
    public void Own(SafeFileHandle handle, string path)
    {
        var added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (fchown((int)handle.DangerousGetHandle(), Uid, Gid) != 0)
            {
                throw new UnauthorizedAccessException($"cannot give '{path}' to {Name}: errno {errno}");
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
