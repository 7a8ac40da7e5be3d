using System.Reflection;

namespace Accel.Edge.Hosting;

/// <summary>The version and commit this binary was built from (InformationalVersion is VERSION+COMMIT).</summary>
internal static class BuildInfo
{
    private static readonly string s_informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static string Version => s_informational.Split('+')[0];

    /// <summary>The commit (12 hex digits), or "unknown" for a build outside git.</summary>
    public static string Commit
    {
        get
        {
            var plus = s_informational.IndexOf('+', StringComparison.Ordinal);
            if (plus < 0)
            {
                return "unknown";
            }

            var commit = s_informational[(plus + 1)..];
            return commit.Length > 12 ? commit[..12] : commit;
        }
    }
}
