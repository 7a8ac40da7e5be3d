using Accel.Core.Edges;
using System.Globalization;
using System.Net;
using Accel.Core.Relay;
using Accel.Core.Transport;
using Accel.Edge.Options;

namespace Accel.Edge.Status;

/// <summary>How peers are named in logs and /status: by the names the configuration gives their pins.</summary>
internal static class PeerNames
{
    /// <summary>Server edge: Server:ClientPins name → pin; list-form entries (named 0, 1, ...) show as "#0".</summary>
    public static Func<ITransportConnection, string> ForClientPins(IReadOnlyDictionary<string, string> clientPins)
    {
        var byPin = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, pin) in clientPins)
        {
            if (Pins.TryParse(pin, out var bytes))
            {
                byPin[Convert.ToBase64String(bytes)] = int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out _) ? "#" + name : name;
            }
        }

        return c =>
        {
            var pin = Convert.ToBase64String(c.PeerSpkiSha256.Span);
            return byPin.TryGetValue(pin, out var name) ? name : "ca:" + pin[..12];
        };
    }

    /// <summary>Client edge: the Client:ServerEdges name whose pins (or, failing that, address) match.</summary>
    public static Func<ITransportConnection, string> ForServerEdges(IReadOnlyDictionary<string, ServerEdgeTarget> targets)
        => c =>
        {
            foreach (var (name, target) in targets)
            {
                foreach (var pin in target.Trust.PinnedSpkiSha256)
                {
                    if (c.PeerSpkiSha256.Span.SequenceEqual(pin))
                    {
                        return name;
                    }
                }
            }

            foreach (var (name, target) in targets)
            {
                if (target.Address is IPEndPoint ip && ip.Equals(c.RemoteEndPoint))
                {
                    return name;
                }
            }

            return c.RemoteEndPoint.ToString() ?? "?";
        };
}
