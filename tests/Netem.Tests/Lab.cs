[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Netem.Tests;

/// <summary>Skips tests that need root, /dev/net/tun and `ip netns`.</summary>
internal static class Lab
{
    public static void RequireNamespaces()
    {
        if (Environment.UserName != "root" || !File.Exists("/dev/net/tun"))
        {
            Assert.Fail("needs root and /dev/net/tun for network namespaces and TUN devices (the setup runs as root; this part must not be skipped)");
        }
    }

    public static void RequireSpice()
    {
        RequireNamespaces();
        foreach (var tool in new[] { "/usr/bin/Xorg", "/usr/bin/spicy-screenshot", "/usr/bin/kcptun-client", "/usr/bin/xterm" })
        {
            if (!File.Exists(tool))
            {
                Assert.Fail($"{tool} not installed: run ./eng/setup.sh");
            }
        }
    }

    /// <summary>bench/netem/profiles (copied next to the test assembly, else found above it).</summary>
    public static string ProfileDir()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            foreach (var p in new[] { Path.Combine(d.FullName, "profiles"), Path.Combine(d.FullName, "bench", "netem", "profiles") })
            {
                if (File.Exists(Path.Combine(p, "branch.json")))
                {
                    return p;
                }
            }
        }

        throw new DirectoryNotFoundException("bench/netem/profiles");
    }
}
