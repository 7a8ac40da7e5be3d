using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;

namespace Accel.Edge.Options;

internal static class Endpoints
{
    /// <summary>Parses "host:port" or "[v6]:port" with a port in 1..65535.</summary>
    public static bool TryParseHostPort(string? text, [NotNullWhen(true)] out string? host, out ushort port)
    {
        host = null;
        port = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string h;
        string p;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 2 > text.Length || text[close + 1] != ':')
            {
                return false;
            }

            h = text[1..close];
            p = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon <= 0 || text.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                return false;
            }

            h = text[..colon];
            p = text[(colon + 1)..];
        }

        if (h.Length is 0 or > 255 || !ushort.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port == 0)
        {
            return false;
        }

        host = h;
        return true;
    }

    /// <summary>http://host:port for reaching a listener from this host: a wildcard address becomes loopback.</summary>
    public static string LocalUrl(string host, ushort port)
    {
        var h = host switch
        {
            "0.0.0.0" or "*" or "+" => "127.0.0.1",
            "::" => "::1",
            _ => host,
        };
        return h.Contains(':', StringComparison.Ordinal) ? $"http://[{h}]:{port}" : $"http://{h}:{port}";
    }

    public static bool TryParseIpEndPoint(string? text, [NotNullWhen(true)] out IPEndPoint? endPoint)
    {
        endPoint = null;
        if (!TryParseHostPort(text, out var host, out var port) || !IPAddress.TryParse(host, out var address))
        {
            return false;
        }

        endPoint = new IPEndPoint(address, port);
        return true;
    }

    public static async Task<EndPoint> ResolveAsync(string hostPort, CancellationToken cancellationToken)
    {
        if (!TryParseHostPort(hostPort, out var host, out var port))
        {
            throw new FormatException($"'{hostPort}' is not host:port");
        }

        if (IPAddress.TryParse(host, out var address))
        {
            return new IPEndPoint(address, port);
        }

        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        return addresses.Length > 0 ? new IPEndPoint(addresses[0], port) : throw new IOException($"'{host}' has no address");
    }
}

internal static class Pins
{
    public static bool TryParse(string text, [NotNullWhen(true)] out byte[]? pin)
    {
        pin = null;
        var buffer = new byte[48];
        if (!Convert.TryFromBase64String(text.Trim(), buffer, out var n) || n != 32)
        {
            return false;
        }

        pin = buffer[..32];
        return true;
    }
}
