using System.Net;
using Accel.Core.Relay;
using Accel.Core.Transport;
using Accel.Edge.Options;
using Accel.Core.Edges;

namespace Accel.Edge.Hosting;

/// <summary>Turns validated options into the snapshots Core takes.</summary>
internal static class TransportOptionsFactory
{
    public static EndpointIdentity LoadIdentity(IdentitySection identity)
        => new(File.ReadAllText(identity.CertificateFile), File.ReadAllText(identity.KeyFile));

    public static PeerTrust Trust(IEnumerable<string> pins, string? caFile)
    {
        var parsed = new List<byte[]>();
        foreach (var p in pins)
        {
            if (Pins.TryParse(p, out var pin))
            {
                parsed.Add(pin);
            }
        }

        return new PeerTrust
        {
            PinnedSpkiSha256 = parsed,
            CaBundlePem = string.IsNullOrEmpty(caFile) ? null : File.ReadAllText(caFile),
        };
    }

    public static CongestionControlAlgorithm Congestion(string name) => name switch
    {
        "cubic" => CongestionControlAlgorithm.Cubic,
        "reno" => CongestionControlAlgorithm.Reno,
        _ => CongestionControlAlgorithm.Bbr,
    };

    public static TransportListenerOptions Listener(EdgeOptions options, EndpointIdentity identity)
    {
        Endpoints.TryParseIpEndPoint(options.Server.Listen, out var listen);
        var t = options.Transport;
        return new TransportListenerOptions
        {
            ListenEndPoint = listen!,
            Identity = identity,
            PeerTrust = Trust(options.Server.ClientPins.Values, options.Server.ClientCaFile),
            IdleTimeout = t.IdleTimeout,
            KeepAliveInterval = t.KeepAliveInterval,
            HandshakeTimeout = t.HandshakeTimeout,
            CongestionControl = Congestion(t.CongestionControl),
            StreamReceiveWindow = t.StreamReceiveWindow,
            ConnectionReceiveWindow = t.ConnectionReceiveWindow,
        };
    }

    public static TransportClientOptions Client(EdgeOptions options, EndpointIdentity identity, ServerEdgeTarget target)
    {
        var t = options.Transport;
        return new TransportClientOptions
        {
            RemoteEndPoint = target.Address,
            ServerName = target.ServerName,
            Identity = identity,
            PeerTrust = target.Trust,
            IdleTimeout = t.IdleTimeout,
            KeepAliveInterval = t.KeepAliveInterval,
            HandshakeTimeout = t.HandshakeTimeout,
            CongestionControl = Congestion(t.CongestionControl),
            StreamReceiveWindow = t.StreamReceiveWindow,
            ConnectionReceiveWindow = t.ConnectionReceiveWindow,
        };
    }

    public static async Task<Dictionary<string, ServerEdgeTarget>> TargetsAsync(ClientSection client, CancellationToken cancellationToken)
    {
        var targets = new Dictionary<string, ServerEdgeTarget>(StringComparer.Ordinal);
        foreach (var (name, edge) in client.ServerEdges)
        {
            EndPoint address = await Endpoints.ResolveAsync(edge.Address, cancellationToken).ConfigureAwait(false);
            targets[name] = new ServerEdgeTarget(name, address, Trust(edge.Pins, edge.CaFile), edge.ServerName);
        }

        return targets;
    }
}
