using System.Globalization;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>
/// A NAT in front of the client edge that rebinds: nftables in the branch rewrite the source port of the client edge's
/// UDP socket on the way out (and the destination port back on the way in), so the server edge sees the client at
/// another port; what comes back to the real port directly is dropped (the old mapping is gone both ways). Each
/// <see cref="RebindAsync"/> moves to a new port, replacing the previous mapping in one transaction. Undone on dispose.
/// </summary>
internal sealed class ClientNat : IAsyncDisposable
{
    private const string Table = "sa_rebind";
    private readonly string _branch;
    private readonly int _edgePort;
    private int _rebinds;

    private ClientNat(string branch, int edgePort, int port)
    {
        _branch = branch;
        _edgePort = edgePort;
        Port = port;
    }

    /// <summary>The client edge socket's own port.</summary>
    public int Port { get; }

    /// <summary>The NAT for the client edge socket in <paramref name="branch"/> that talks to <paramref name="server"/>:<paramref name="edgePort"/> from <paramref name="localIp"/>.</summary>
    public static async Task<ClientNat> ForAsync(string branch, string localIp, string server, int edgePort)
    {
        var sockets = await Shell.InNsAsync(branch, "ss", "-Hun", "dst", $"{server}:{edgePort}");
        // An IPv4 socket (ngtcp2) shows its address as is, libmsquic's dual-stack socket as [::ffff:a.b.c.d].
        var local = sockets.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .First(f => f.StartsWith(localIp + ":", StringComparison.Ordinal) || f.StartsWith("0.0.0.0:", StringComparison.Ordinal)
                || f.StartsWith("[::ffff:" + localIp + "]:", StringComparison.Ordinal));
        return new ClientNat(branch, edgePort, int.Parse(local[(local.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture));
    }

    /// <summary>The NAT maps the client edge to a port it has not used yet; returns that port.</summary>
    public async Task<int> RebindAsync()
    {
        var moved = (Port >= 45000 ? Port - 10000 : Port + 10000) + 7 * _rebinds++;
        // Declaring the table first makes the delete valid on the first rebind too; the file is one transaction.
        await Shell.RunAsync("ip", ["netns", "exec", _branch, "nft", "-f", "-"], stdin:
            $"table inet {Table}\ndelete table inet {Table}\n" +
            $"table inet {Table} {{\n chain out {{ type filter hook output priority -300; udp sport {Port} udp dport {_edgePort} udp sport set {moved}; }}\n" +
            $" chain in {{ type filter hook prerouting priority -300; udp sport {_edgePort} udp dport {Port} drop; udp sport {_edgePort} udp dport {moved} udp dport set {Port}; }}\n}}\n");
        return moved;
    }

    public async ValueTask DisposeAsync()
        => await Shell.RunAsync("ip", ["netns", "exec", _branch, "nft", "delete", "table", "inet", Table], check: false);
}
