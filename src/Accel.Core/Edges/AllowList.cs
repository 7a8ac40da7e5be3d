using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Accel.Core.Edges;

/// <summary>
/// Which backends the server edge may connect to: entries of the form <c>CIDR:port</c> or <c>CIDR:low-high</c>
/// (e.g. <c>10.0.0.0/8:5900-5999</c>, <c>[fd00::/8]:5930</c>, <c>127.0.0.1/32:5930</c>). Host names in requests are
/// resolved first and every resolved address must be permitted. An empty list permits nothing.
/// </summary>
public sealed class AllowList
{
    private readonly Entry[] _entries;

    public AllowList(IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        _entries = [.. entries.Select(Parse)];
    }

    public int Count => _entries.Length;

    public bool Permits(IPAddress address, int port)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var entry in _entries)
        {
            if (port >= entry.LowPort && port <= entry.HighPort && entry.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Parses one entry; throws <see cref="FormatException"/> with the reason.</summary>
    public static void Validate(string entry) => Parse(entry);

    private static Entry Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new FormatException("empty allow-list entry");
        }

        text = text.Trim();
        string network;
        string ports;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                throw new FormatException($"'{text}': expected [IPv6-CIDR]:ports");
            }

            network = text[1..close];
            ports = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                throw new FormatException($"'{text}': expected CIDR:port or CIDR:low-high");
            }

            network = text[..colon];
            ports = text[(colon + 1)..];
        }

        if (!IPNetwork.TryParse(network.Contains('/', StringComparison.Ordinal) ? network : network + (network.Contains(':', StringComparison.Ordinal) ? "/128" : "/32"), out var net))
        {
            throw new FormatException($"'{text}': '{network}' is not an address or CIDR network");
        }

        int low;
        int high;
        var dash = ports.IndexOf('-', StringComparison.Ordinal);
        if (ports == "*")
        {
            low = 1;
            high = 65535;
        }
        else if (dash < 0)
        {
            low = high = ParsePort(text, ports);
        }
        else
        {
            low = ParsePort(text, ports[..dash]);
            high = ParsePort(text, ports[(dash + 1)..]);
        }

        if (low > high)
        {
            throw new FormatException($"'{text}': port range {low}-{high} is empty");
        }

        return new Entry(net, low, high);
    }

    private static int ParsePort(string entry, string text)
    {
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{entry}': '{text}' is not a port (1-65535)");
        }

        return port;
    }

    private readonly record struct Entry(IPNetwork Network, int LowPort, int HighPort)
    {
        public bool Contains(IPAddress address)
            => address.AddressFamily == Network.BaseAddress.AddressFamily && Network.Contains(address)
               || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.IsIPv4MappedToIPv6 && Network.Contains(address.MapToIPv4()));
    }
}
