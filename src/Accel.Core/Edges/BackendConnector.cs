using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Accel.Core.Edges;

/// <summary>
/// An HTTP CONNECT proxy in front of the backends (Proxmox VE's spiceproxy on port 3128 of each node, or any proxy
/// such as tinyproxy): opaque targets always go through it, and host:port backends that <paramref name="Backends"/>
/// matches do too. Its own address must be in the allow-list.
/// </summary>
public sealed record UpstreamProxy(IPEndPoint Address, AllowList Backends);

/// <summary>A connected backend socket, or why there is none.</summary>
/// <param name="Socket">Connected, owned by the caller; null when refused.</param>
/// <param name="Target">The backend's address when known (null for an opaque target behind the upstream proxy).</param>
/// <param name="Prefix">Bytes the upstream proxy sent after its answer: the backend's first bytes.</param>
public readonly record struct BackendConnection(Socket? Socket, IPEndPoint? Target, ReadOnlyMemory<byte> Prefix, EdgeStatus Status, string Reason);

/// <summary>
/// The server edge's way to a backend: the allow-list on every resolved address, then a direct TCP connection or an
/// HTTP CONNECT through the upstream proxy, all within the backend connect timeout.
/// </summary>
internal sealed class BackendConnector(ServerEdgeSettings settings)
{
    /// <summary>Largest answer head accepted from the upstream proxy.</summary>
    public const int MaxProxyAnswer = 8192;

    public async Task<BackendConnection> ConnectAsync(EdgeRequest request, CancellationToken cancellationToken)
    {
        var upstream = settings.UpstreamProxy;
        IPEndPoint? target = null;
        if (request.IsOpaqueTarget)
        {
            if (upstream is null)
            {
                return Refused(EdgeStatus.NotAllowed, "opaque CONNECT targets need Server:UpstreamProxy");
            }
        }
        else
        {
            var resolved = await ResolveAllowedAsync(request, cancellationToken).ConfigureAwait(false);
            if (resolved.Target is null)
            {
                return Refused(resolved.Status, resolved.Reason);
            }

            target = resolved.Target;
            if (upstream is not null && !upstream.Backends.Permits(target.Address, target.Port))
            {
                upstream = null;
            }
        }

        if (upstream is not null && !settings.AllowList.Permits(upstream.Address.Address, upstream.Address.Port))
        {
            return Refused(EdgeStatus.NotAllowed, "upstream proxy " + upstream.Address + " is not in the allow-list");
        }

        var socket = new Socket((upstream?.Address ?? target!).AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var handedOver = false;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(settings.BackendConnectTimeout);
        try
        {
            await socket.ConnectAsync(upstream?.Address ?? target!, timeout.Token).ConfigureAwait(false);
            var prefix = ReadOnlyMemory<byte>.Empty;
            if (upstream is not null)
            {
                var connectTarget = request.IsOpaqueTarget ? request.Host : target!.ToString();
                var (status, reason, rest) = await HttpConnectAsync(socket, connectTarget, timeout.Token).ConfigureAwait(false);
                if (status != EdgeStatus.Ok)
                {
                    return Refused(status, reason);
                }

                prefix = rest;
            }

            handedOver = true;
            return new BackendConnection(socket, target, prefix, EdgeStatus.Ok, string.Empty);
        }
        catch (SocketException ex)
        {
            var status = ex.SocketErrorCode == SocketError.ConnectionRefused ? EdgeStatus.BackendRefused : EdgeStatus.BackendUnreachable;
            return Refused(status, (upstream is null ? string.Empty : "upstream proxy: ") + ex.SocketErrorCode);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Refused(EdgeStatus.BackendUnreachable, upstream is null ? "connect timed out" : "upstream proxy: no answer in time");
        }
        finally
        {
            if (!handedOver)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Sends CONNECT and reads the answer head; the status says whether the tunnel is open.</summary>
    internal static async Task<(EdgeStatus Status, string Reason, ReadOnlyMemory<byte> Remainder)> HttpConnectAsync(Socket socket, string target, CancellationToken cancellationToken)
    {
        var head = Encoding.ASCII.GetBytes("CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
        await socket.SendAsync(head, SocketFlags.None, cancellationToken).ConfigureAwait(false);

        var buffer = new byte[MaxProxyAnswer];
        var filled = 0;
        int end;
        while ((end = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (filled == buffer.Length)
            {
                return (EdgeStatus.BackendRefused, "upstream proxy: answer head too long", default);
            }

            var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return (EdgeStatus.BackendRefused, "upstream proxy closed without an answer", default);
            }

            filled += n;
        }

        var lineEnd = buffer.AsSpan(0, end).IndexOf("\r\n"u8);
        var line = Encoding.ASCII.GetString(buffer, 0, lineEnd < 0 ? end : lineEnd);
        var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return (EdgeStatus.BackendRefused, "upstream proxy: malformed answer", default);
        }

        var status = code switch
        {
            >= 200 and < 300 => EdgeStatus.Ok,
            403 or 407 => EdgeStatus.NotAllowed,
            504 => EdgeStatus.BackendUnreachable,
            _ => EdgeStatus.BackendRefused,
        };
        return (status, status == EdgeStatus.Ok ? string.Empty : "upstream proxy answered " + line, buffer.AsMemory(end + 4, filled - end - 4));
    }

    private async ValueTask<(IPEndPoint? Target, EdgeStatus Status, string Reason)> ResolveAllowedAsync(EdgeRequest request, CancellationToken cancellationToken)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(request.Host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(settings.BackendConnectTimeout);
                addresses = await Dns.GetHostAddressesAsync(request.Host, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                return (null, EdgeStatus.BackendUnreachable, "name does not resolve: " + ex.SocketErrorCode);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return (null, EdgeStatus.BackendUnreachable, "name resolution timed out");
            }
        }

        if (addresses.Length == 0)
        {
            return (null, EdgeStatus.BackendUnreachable, "name has no address");
        }

        foreach (var address in addresses)
        {
            if (!settings.AllowList.Permits(address, request.Port))
            {
                return (null, EdgeStatus.NotAllowed, address + ":" + request.Port + " is not in the allow-list");
            }
        }

        return (new IPEndPoint(addresses[0], request.Port), EdgeStatus.Ok, string.Empty);
    }

    private static BackendConnection Refused(EdgeStatus status, string reason) => new(null, null, default, status, reason);
}
