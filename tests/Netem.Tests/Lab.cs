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
}
