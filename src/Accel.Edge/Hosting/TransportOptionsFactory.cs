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

    public static PeerTrust Trust(IEnumerable<string> pins, string? caFile) => new()
    {
        PinnedSpkiSha256 = ParsePins(pins),
        CaBundlePem = string.IsNullOrEmpty(caFile) ? null : File.ReadAllText(caFile),
    };

    /// <summary>The validated pins as digests.</summary>
    public static List<byte[]> ParsePins(IEnumerable<string> pins)
    {
        var parsed = new List<byte[]>();
        foreach (var p in pins)
        {
            if (Pins.TryParse(p, out var pin))
            {
                parsed.Add(pin);
            }
        }

        return parsed;
    }

    public static CongestionControlAlgorithm Congestion(string name) => name switch
    {
        "cubic" => CongestionControlAlgorithm.Cubic,
        "reno" => CongestionControlAlgorithm.Reno,
        _ => CongestionControlAlgorithm.Bbr,
    };

    /// <param name="clientPins">The client edges' pins as a list a reload can replace.</param>
    public static TransportListenerOptions Listener(EdgeOptions options, EndpointIdentity identity, Accel.Core.Transport.Tls.ReloadablePins clientPins)
    {
        Endpoints.TryParseIpEndPoint(options.Server.Listen, out var listen);
        var handshakes = options.Server.Handshakes;
        return Tuned(new TransportListenerOptions
        {
            ListenEndPoint = listen!,
            Identity = identity,
            PeerTrust = Trust([], options.Server.ClientCaFile) with { PinnedSpkiSha256 = clientPins },
            MaxHalfOpenConnections = handshakes.MaxHalfOpen,
            Retry = handshakes.Retry switch
            {
                "off" => ListenerRetryMode.Off,
                "always" => ListenerRetryMode.Always,
                _ => ListenerRetryMode.Automatic,
            },
            RetryAboveHandshakesPerSecond = handshakes.RetryAbovePerSecond,
            RetryAboveHalfOpen = handshakes.RetryAboveHalfOpen,
        }, options.Transport);
    }

    public static TransportClientOptions Client(EdgeOptions options, EndpointIdentity identity, ServerEdgeTarget target)
    {
        return Tuned(new TransportClientOptions
        {
            RemoteEndPoint = target.Address,
            ServerName = target.ServerName,
            Identity = identity,
            PeerTrust = target.Trust,
        }, options.Transport);
    }

    /// <summary>The settings both sides take from the Transport section.</summary>
    private static T Tuned<T>(T transport, TransportSection t)
        where T : TransportOptions => (T)((TransportOptions)transport with
        {
            IdleTimeout = t.IdleTimeout,
            KeepAliveInterval = t.KeepAliveInterval,
            HandshakeTimeout = t.HandshakeTimeout,
            CongestionControl = Congestion(t.CongestionControl),
            StreamReceiveWindow = t.StreamReceiveWindow,
            ConnectionReceiveWindow = t.ConnectionReceiveWindow,
        });

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
