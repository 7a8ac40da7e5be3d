using System.Net;
using System.Security.Cryptography;

namespace NetemLink;

/// <summary>
/// Two namespaces, <c>sa-br-&lt;id&gt;</c> (branch/client) and <c>sa-dc-&lt;id&gt;</c> (data centre/server), joined by one
/// emulated link: a TUN in each namespace, both fds held by this process, one <see cref="EmulatedDirection"/> each way.
/// Addresses are a private /30 that exists only inside these namespaces.
/// </summary>
public sealed class Topology : IDisposable
{
    public const string BranchPrefix = "sa-br-";
    public const string DataCentrePrefix = "sa-dc-";
    private const string OwnerDir = "/run/sa-netem";

    private readonly TunDevice _brTun;
    private readonly TunDevice _dcTun;
    private bool _disposed;

    private Topology(string id, int subnet, TunDevice brTun, TunDevice dcTun, DirectionParameters down, DirectionParameters up)
    {
        Id = id;
        BranchAddress = IPAddress.Parse($"10.250.{subnet}.1");
        DataCentreAddress = IPAddress.Parse($"10.250.{subnet}.2");
        _brTun = brTun;
        _dcTun = dcTun;
        var seed = RandomNumberGenerator.GetInt32(int.MaxValue);
        Up = new EmulatedDirection("up-" + id, brTun, dcTun, up, seed);
        Down = new EmulatedDirection("down-" + id, dcTun, brTun, down, seed ^ 0x5a5a5a5a);
    }

    public string Id { get; }
    public string BranchNs => BranchPrefix + Id;
    public string DataCentreNs => DataCentrePrefix + Id;
    public IPAddress BranchAddress { get; }
    public IPAddress DataCentreAddress { get; }

    /// <summary>Branch → data centre (client to server).</summary>
    public EmulatedDirection Up { get; }

    /// <summary>Data centre → branch (server to client).</summary>
    public EmulatedDirection Down { get; }

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));

    public static Topology Create(DirectionParameters down, DirectionParameters up, string? id = null)
    {
        id ??= NewId();
        var subnet = Convert.ToInt32(id[..2], 16);
        var br = BranchPrefix + id;
        var dc = DataCentrePrefix + id;
        TunDevice? brTun = null;
        TunDevice? dcTun = null;
        try
        {
            Directory.CreateDirectory(OwnerDir);
            File.WriteAllText(Path.Combine(OwnerDir, id), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Shell.Check("ip", "netns", "add", br);
            Shell.Check("ip", "netns", "add", dc);
            brTun = TunDevice.Create("sab" + id);
            dcTun = TunDevice.Create("sad" + id);
            Configure(br, brTun.Name, $"10.250.{subnet}.1/30");
            Configure(dc, dcTun.Name, $"10.250.{subnet}.2/30");
            var topology = new Topology(id, subnet, brTun, dcTun, down, up);
            topology.Up.Start();
            topology.Down.Start();
            return topology;
        }
        catch
        {
            brTun?.Dispose();
            dcTun?.Dispose();
            RemoveNamespace(br);
            RemoveNamespace(dc);
            File.Delete(Path.Combine(OwnerDir, id));
            throw;
        }
    }

    private static void Configure(string ns, string dev, string cidr)
    {
        Shell.Check("ip", "link", "set", "dev", dev, "netns", ns);
        Shell.Check("ip", "-n", ns, "link", "set", "lo", "up");
        Shell.Check("ip", "-n", ns, "addr", "add", cidr, "dev", dev);
        Shell.Check("ip", "-n", ns, "link", "set", "dev", dev, "mtu", "1500", "up");
    }

    /// <summary>Kills every process in the namespace, then deletes it. Safe to call for a namespace that is gone.</summary>
    public static void RemoveNamespace(string ns)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var (rc, pids) = Shell.Run("ip", "netns", "pids", ns);
            if (rc != 0)
            {
                break;
            }

            var any = false;
            foreach (var pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                any = true;
                Shell.Run("kill", attempt == 0 ? "-TERM" : "-KILL", pid);
            }

            if (!any)
            {
                break;
            }

            Thread.Sleep(300);
        }

        Shell.Run("ip", "netns", "del", ns);
    }

    /// <summary>Names of every namespace this suite may have left behind (by prefix).</summary>
    public static IReadOnlyList<string> ListOwnNamespaces()
    {
        var (_, output) = Shell.Run("ip", "netns", "list");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ')[0])
            .Where(n => n.StartsWith(BranchPrefix, StringComparison.Ordinal) || n.StartsWith(DataCentrePrefix, StringComparison.Ordinal))
            .ToList();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        RemoveNamespace(BranchNs);
        RemoveNamespace(DataCentreNs);
        Up.Dispose();
        Down.Dispose();
        _brTun.Dispose();
        _dcTun.Dispose();
        File.Delete(Path.Combine(OwnerDir, Id));
    }

    /// <summary>True when the process that created namespace pair <paramref name="id"/> is still running.</summary>
    public static bool OwnerAlive(string id)
    {
        try
        {
            var pid = File.ReadAllText(Path.Combine(OwnerDir, id)).Trim();
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z'; // a killed but unreaped owner is dead
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>Removes namespaces (and their processes) whose creating process is gone; all of them with <paramref name="all"/>.</summary>
    public static IReadOnlyList<string> RemoveStale(bool all)
    {
        var removed = new List<string>();
        foreach (var ns in ListOwnNamespaces())
        {
            var id = ns[BranchPrefix.Length..];
            if (!all && OwnerAlive(id))
            {
                continue;
            }

            RemoveNamespace(ns);
            removed.Add(ns);
            if (!ListOwnNamespaces().Any(n => n.EndsWith(id, StringComparison.Ordinal)))
            {
                File.Delete(Path.Combine(OwnerDir, id));
            }
        }

        return removed;
    }
}
