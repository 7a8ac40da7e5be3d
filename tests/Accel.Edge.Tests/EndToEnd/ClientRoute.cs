using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>
/// A route of a test's own from the branch to the data centre, so the lab's other edges keep theirs: the server edge
/// listens on <see cref="ServerIp"/> (a second address of the data centre's WAN side), the branch reaches it from
/// <see cref="OldIp"/> until <see cref="MoveAsync"/> gives it <see cref="NewIp"/>, makes that the route's source and
/// removes the old address — a Wi-Fi → LTE switch as the client edge's kernel sees it. Undone on dispose.
/// </summary>
internal sealed class ClientRoute : IAsyncDisposable
{
    public const string ServerIp = "10.253.0.2";
    public const string OldIp = "10.253.0.1";
    public const string NewIp = "10.253.0.3";

    private readonly string _branch;
    private readonly string _dc;

    private ClientRoute(string branch, string dc)
    {
        _branch = branch;
        _dc = dc;
    }

    public static async Task<ClientRoute> CreateAsync(string branch, string dc)
    {
        var route = new ClientRoute(branch, dc);
        try
        {
            await Shell.InNsAsync(dc, "ip", "addr", "add", ServerIp + "/32", "dev", "wan0");
            await Shell.InNsAsync(dc, "ip", "route", "add", "10.253.0.0/24", "dev", "wan0");
            await Shell.InNsAsync(branch, "ip", "addr", "add", OldIp + "/32", "dev", "wan0");
            await Shell.InNsAsync(branch, "ip", "route", "add", ServerIp + "/32", "dev", "wan0", "src", OldIp);
            return route;
        }
        catch
        {
            await route.DisposeAsync();
            throw;
        }
    }

    /// <summary>The branch gets <see cref="NewIp"/>, the route to the server edge takes it as source, <see cref="OldIp"/> goes.</summary>
    public async Task MoveAsync()
    {
        await Shell.InNsAsync(_branch, "ip", "addr", "add", NewIp + "/32", "dev", "wan0");
        await Shell.InNsAsync(_branch, "ip", "route", "replace", ServerIp + "/32", "dev", "wan0", "src", NewIp);
        await Shell.InNsAsync(_branch, "ip", "addr", "del", OldIp + "/32", "dev", "wan0");
    }

    /// <summary>The data centre drops the edge port's datagrams from <see cref="NewIp"/> until the result is disposed.</summary>
    public async Task<IAsyncDisposable> BlockNewAddressAsync(int udpPort)
    {
        await Shell.RunAsync("ip", ["netns", "exec", _dc, "nft", "-f", "-"], stdin:
            $"table inet sa_newpath {{\n chain in {{ type filter hook input priority 0; ip saddr {NewIp} udp dport {udpPort} drop; }}\n}}\n");
        return new Unblock(_dc);
    }

    public async ValueTask DisposeAsync()
    {
        string[][] commands =
        [
            [_branch, "ip", "route", "del", ServerIp + "/32"],
            [_branch, "ip", "addr", "del", OldIp + "/32", "dev", "wan0"],
            [_branch, "ip", "addr", "del", NewIp + "/32", "dev", "wan0"],
            [_dc, "ip", "route", "del", "10.253.0.0/24"],
            [_dc, "ip", "addr", "del", ServerIp + "/32", "dev", "wan0"],
        ];
        foreach (var command in commands)
        {
            await Shell.RunAsync("ip", ["netns", "exec", .. command], check: false);
        }

        await new Unblock(_dc).DisposeAsync();
    }

    private sealed class Unblock(string dc) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
            => await Shell.RunAsync("ip", ["netns", "exec", dc, "nft", "delete", "table", "inet", "sa_newpath"], check: false);
    }
}
