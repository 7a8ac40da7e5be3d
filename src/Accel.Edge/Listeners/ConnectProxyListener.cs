using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Accel.Core.Relay;
using Accel.Core.Transport;
using Accel.Edge.Options;
using Microsoft.Extensions.Logging;
using Accel.Core.Edges;

namespace Accel.Edge.Listeners;

/// <summary>
/// An HTTP CONNECT proxy as spice-gtk uses it (<c>--spice-proxy=http://host:port</c>, <c>SPICE_PROXY</c>, the
/// <c>proxy=</c> key of .vv files): the target comes from the CONNECT line. The server edge is asked first, so a
/// refused backend gets a real HTTP error (403, 502, 504) instead of a silent close. A target that is not host:port
/// (Proxmox's <c>pvespiceproxy:…:61000</c>) is carried verbatim as an opaque target; the server edge hands it to its
/// upstream CONNECT proxy (<c>Server:UpstreamProxy</c>) or refuses it.
/// </summary>
internal sealed partial class ConnectProxyListener(IPEndPoint listen, ClientEdge edge, string serverEdge, ILogger logger)
    : SpiceListener(listen, edge, serverEdge, logger)
{
    /// <summary>Largest request head accepted (request line and headers).</summary>
    public const int MaxHeadBytes = 8192;

    private static readonly TimeSpan s_headTimeout = TimeSpan.FromSeconds(10);

    protected override string Mode => "connect";

    protected override async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeadBytes);
        try
        {
            var filled = 0;
            var headEnd = -1;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(s_headTimeout);
                try
                {
                    while (headEnd < 0)
                    {
                        if (filled == MaxHeadBytes)
                        {
                            await AnswerAsync(client, "431 Request Header Fields Too Large", cancellationToken).ConfigureAwait(false);
                            return;
                        }

                        var n = await client.ReceiveAsync(buffer.AsMemory(filled, MaxHeadBytes - filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                        if (n == 0)
                        {
                            return;
                        }

                        filled += n;
                        headEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8);
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    await AnswerAsync(client, "408 Request Timeout", cancellationToken).ConfigureAwait(false);
                    return;
                }
            }

            if (!TryParseConnect(buffer.AsSpan(0, headEnd), out var request, out var problem))
            {
                BadRequest(Logger, client.RemoteEndPoint?.ToString() ?? "?", problem);
                await AnswerAsync(client, problem == "method" ? "405 Method Not Allowed" : "400 Bad Request", cancellationToken).ConfigureAwait(false);
                return;
            }

            var (host, port) = (request.LogName, request.Port);
            ITransportStream stream;
            ReadOnlyMemory<byte> leftover;
            try
            {
                (stream, leftover) = await Edge.OpenChannelAsync(ServerEdge, request, default, cancellationToken).ConfigureAwait(false);
            }
            catch (EdgeRefusedException ex)
            {
                Refused(Logger, host, port, ex.Status, ex.Reason);
                var status = ex.Status switch
                {
                    EdgeStatus.NotAllowed => "403 Forbidden",
                    EdgeStatus.BackendUnreachable => "504 Gateway Timeout",
                    EdgeStatus.BadRequest => "400 Bad Request",
                    EdgeStatus.Unavailable => "503 Service Unavailable",
                    _ => "502 Bad Gateway",
                };
                await AnswerAsync(client, status, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (TransportException ex)
            {
                Unreachable(Logger, ServerEdge, ex.Message);
                await AnswerAsync(client, "503 Service Unavailable", cancellationToken).ConfigureAwait(false);
                return;
            }

            await using (stream.ConfigureAwait(false))
            {
                await client.SendAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), SocketFlags.None, cancellationToken).ConfigureAwait(false);

                // Anything the client sent after the head (it should wait for 200, but may not) is read first.
                var early = buffer.AsSpan(headEnd + 4, filled - headEnd - 4).ToArray();
                await Edge.RelayOpenedAsync(client, stream, early, leftover, host, port, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Parses "CONNECT target HTTP/1.x" from the request head: host:port, or else an opaque target (printable ASCII,
    /// at most 255 bytes) for the server edge's upstream proxy.
    /// </summary>
    internal static bool TryParseConnect(ReadOnlySpan<byte> head, out EdgeRequest request, out string problem)
    {
        request = default;
        var lineEnd = head.IndexOf("\r\n"u8);
        var line = Encoding.ASCII.GetString(lineEnd < 0 ? head : head[..lineEnd]);
        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            problem = "malformed request line";
            return false;
        }

        if (!string.Equals(parts[0], "CONNECT", StringComparison.Ordinal))
        {
            problem = "method";
            return false;
        }

        if (Endpoints.TryParseHostPort(parts[1], out var host, out var port))
        {
            request = new EdgeRequest(host, port, StreamUrgency.Default, 0);
        }
        else if (EdgeRequest.IsValidOpaqueTarget(parts[1]) && !head[..(lineEnd < 0 ? head.Length : lineEnd)].ContainsAnyExceptInRange((byte)' ', (byte)'~'))
        {
            request = EdgeRequest.ForOpaqueTarget(parts[1], StreamUrgency.Default, 0);
        }
        else
        {
            problem = "target is neither host:port nor printable ASCII of at most 255 bytes";
            return false;
        }

        problem = string.Empty;
        return true;
    }

    private static async Task AnswerAsync(Socket client, string status, CancellationToken cancellationToken)
    {
        var text = "HTTP/1.1 " + status + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        try
        {
            await client.SendAsync(Encoding.ASCII.GetBytes(text), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            client.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
    }

    [LoggerMessage(3101, LogLevel.Warning, "CONNECT from {Remote} rejected: {Problem}")]
    private static partial void BadRequest(ILogger logger, string remote, string problem);

    [LoggerMessage(3102, LogLevel.Warning, "CONNECT to {Host}:{Port} refused by the server edge: {Status} ({Reason})")]
    private static partial void Refused(ILogger logger, string host, int port, EdgeStatus status, string reason);

    [LoggerMessage(3103, LogLevel.Warning, "CONNECT: server edge {ServerEdge} unreachable: {Reason}")]
    private static partial void Unreachable(ILogger logger, string serverEdge, string reason);
}
