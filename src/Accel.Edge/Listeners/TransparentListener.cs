using System.Net;
using System.Net.Sockets;
using Tmds.Linux;
using Accel.Core.Relay;
using Microsoft.Extensions.Logging;
using Accel.Core.Edges;
using static Tmds.Linux.LibC;

namespace Accel.Edge.Listeners;

/// <summary>
/// Connections redirected here by an nftables <c>redirect</c> rule: the backend is the connection's original
/// destination, read with getsockopt(SO_ORIGINAL_DST).
/// </summary>
internal sealed partial class TransparentListener(IPEndPoint listen, ClientEdge edge, string serverEdge, ILogger logger)
    : SpiceListener(listen, edge, serverEdge, logger)
{
    protected override string Mode => "transparent";

    protected override async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        if (!OriginalDestination.TryGet(client, out var target))
        {
            NoOriginalDestination(Logger, client.RemoteEndPoint?.ToString() ?? "?");
            return;
        }

        if (target.Equals(LocalEndPoint) || (IPAddress.IsLoopback(target.Address) && target.Port == LocalEndPoint!.Port))
        {
            // Not redirected: someone connected to the listener directly. There is no backend to go to.
            NoOriginalDestination(Logger, client.RemoteEndPoint?.ToString() ?? "?");
            return;
        }

        await Edge.HandleAsync(client, ServerEdge, target.Address.ToString(), (ushort)target.Port, cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(3201, LogLevel.Warning, "Transparent connection from {Remote} has no original destination (not redirected by nftables?); closed")]
    private static partial void NoOriginalDestination(ILogger logger, string remote);
}

/// <summary>getsockopt(SOL_IP, SO_ORIGINAL_DST) and its IPv6 twin, for sockets accepted after an nftables redirect.</summary>
internal static unsafe class OriginalDestination
{
    // linux/netfilter_ipv4.h SO_ORIGINAL_DST and linux/netfilter_ipv6/ip6_tables.h IP6T_SO_ORIGINAL_DST (Tmds.LibC has neither).
    private const int SoOriginalDst = 80;

    public static bool TryGet(Socket socket, out IPEndPoint endPoint)
    {
        endPoint = null!;
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var fd = (int)socket.SafeHandle.DangerousGetHandle();
        Span<byte> buffer = stackalloc byte[28];
        socklen_t length = (uint)buffer.Length;
        int rc;
        var v6 = socket.AddressFamily == AddressFamily.InterNetworkV6;
        fixed (byte* p = buffer)
        {
            rc = getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, SoOriginalDst, p, &length);
            if (rc != 0 && v6)
            {
                // Dual-stack socket with an IPv4 peer.
                length = (uint)buffer.Length;
                rc = getsockopt(fd, IPPROTO_IP, SoOriginalDst, p, &length);
            }
        }

        if (rc != 0)
        {
            return false;
        }

        var family = BitConverter.ToUInt16(buffer);
        var port = (buffer[2] << 8) | buffer[3];
        if (family == 2)
        {
            endPoint = new IPEndPoint(new IPAddress(buffer.Slice(4, 4)), port);
            return true;
        }

        if (family == 10)
        {
            var address = new IPAddress(buffer.Slice(8, 16));
            endPoint = new IPEndPoint(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address, port);
            return true;
        }

        return false;
    }
}
