using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Accel.Core.Diagnostics;
using Accel.Core.Relay;
using Accel.Core.Relay.Compression;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Accel.Core.Edges;

/// <summary>
/// Where a SPICE client told to migrate to <paramref name="host"/>:<paramref name="port"/> should go instead to stay
/// behind the edges; null to leave the destination unchanged.
/// </summary>
public delegate (string Host, ushort Port)? MigrationRedirect(string host, ushort port);

/// <summary>A server edge the client edge can reach: where it is and how to authenticate it.</summary>
public sealed record ServerEdgeTarget(string Name, EndPoint Address, PeerTrust Trust, string ServerName = "spiceaccel");

/// <summary>The server edge refused a channel.</summary>
public sealed class EdgeRefusedException(EdgeStatus status, string reason)
    : IOException("the server edge refused the channel: " + status + (reason.Length > 0 ? " (" + reason + ")" : string.Empty))
{
    public EdgeStatus Status { get; } = status;

    public string Reason { get; } = reason;
}

/// <summary>Client-edge settings, a snapshot built by the host from validated options.</summary>
public sealed record ClientEdgeSettings
{
    public required EndpointIdentity Identity { get; init; }
    public required IReadOnlyDictionary<string, ServerEdgeTarget> ServerEdges { get; init; }
    /// <summary>Transport options other than identity, trust and address (idle timeout, CC, windows).</summary>
    public required Func<ServerEdgeTarget, TransportClientOptions> ClientOptions { get; init; }
    /// <summary>How long to wait for the SPICE client's link header before closing it.</summary>
    public TimeSpan LinkTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Message-aware relay settings.</summary>
    public SpiceRelaySettings Relay { get; init; } = SpiceRelaySettings.Default;

    /// <summary>How long a channel may wait for the server edge's answer.</summary>
    public TimeSpan OpenTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long a channel whose edge connection was lost waits to be resumed on a new one (zero: no resume).</summary>
    public TimeSpan ResumeGrace { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>Ask the server edge for display previews (<see cref="EdgeRequest.PreviewsFlag"/>).</summary>
    public bool DisplayPreviews { get; init; } = true;

    /// <summary>Send the pointer as datagrams where the engine and the server edge can (<see cref="EdgeRequest.InputDatagramsFlag"/>).</summary>
    public bool InputDatagrams { get; init; } = true;

    /// <summary>Ask for LZ4 on the channels whose bytes SPICE does not compress itself (<see cref="EdgeRequest.CompressedFlag"/>).</summary>
    public bool WanCompression { get; init; } = true;

    /// <summary>When inputs also go as datagram copies (with <see cref="InputDatagrams"/> only).</summary>
    public Spice.Input.InputRedundancyMode InputRedundancy { get; init; } = Spice.Input.InputRedundancyMode.Auto;
}

/// <summary>
/// The branch edge: keeps one QUIC connection per server edge (shared by every SPICE session and channel),
/// reconnects when it dies, and relays each local SPICE TCP connection over its own stream.
/// </summary>
public sealed class ClientEdge : IAsyncDisposable
{
    private readonly ClientEdgeSettings _settings;
    private readonly ILogger _logger;
    private readonly ServerEdgeLinks _links;
    private readonly ClientResumer _resumer;
    private readonly ClientChannelFeatures _features;

    public ClientEdge(ITransportEngine engine, ClientEdgeSettings settings, ILogger<ClientEdge>? logger = null)
    {
        _settings = settings;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _links = new ServerEdgeLinks(engine, settings, _logger);
        _resumer = new ClientResumer(_links, settings.ResumeGrace, _logger);
        _features = new ClientChannelFeatures(settings);
    }

    /// <summary>
    /// Serves one local SPICE TCP connection: reads its link header to learn the channel type, opens a stream to the
    /// backend through the named server edge, and relays until either side ends. Never throws for network reasons.
    /// </summary>
    public async Task<RelayOutcome> HandleAsync(Socket client, string edgeName, string host, ushort port, CancellationToken cancellationToken, MigrationRedirect? migrationRedirect = null)
    {
        // The client's SpiceLinkMess, read whole: it names the channel (its priority class) and is rewritten here
        // (no GL scanout, no seamless migration), then sent with the stream request to save a WAN round trip.
        var first = await ReadLinkMessAsync(client, default, cancellationToken).ConfigureAwait(false);
        if (first.Failure is { } failure)
        {
            return failure;
        }

        var channelType = first.Link?.Original.ChannelType ?? default;
        var request = new EdgeRequest(host, port, first.Link is null ? ChannelClasses.Main : channelType.ToUrgency(), (byte)channelType);
        ReadOnlyMemory<byte> early = default;
        if (first.Link is { } link)
        {
            var rewritten = new ArrayBufferWriter<byte>(link.Forwarded.TotalLength);
            link.Forwarded.WriteTo(rewritten);
            early = rewritten.WrittenMemory;
        }

        var opened = await TryOpenChannelAsync(client, edgeName, request, early, cancellationToken).ConfigureAwait(false);
        if (opened is not var (stream, leftover))
        {
            return RelayOutcome.PeerAborted;
        }

        await using (stream.ConfigureAwait(false))
        {
            return await PumpAsync(client, stream, first, leftover, host, port, migrationRedirect, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Relays a local connection over a stream that is already open and accepted by the server edge (HTTP CONNECT
    /// answers the client before the SPICE link starts). <paramref name="early"/> holds bytes the client sent already;
    /// the link header then sets the stream's priority class.
    /// </summary>
    public async Task<RelayOutcome> RelayOpenedAsync(Socket client, ITransportStream stream, ReadOnlyMemory<byte> early, ReadOnlyMemory<byte> leftover, string host, ushort port, CancellationToken cancellationToken)
    {
        var first = await ReadLinkMessAsync(client, early, cancellationToken).ConfigureAwait(false);
        if (first.Failure is { } failure)
        {
            stream.Abort(AbortDirection.Both, RelayErrorCodes.Refused);
            return failure;
        }

        if (first.Link is { } link)
        {
            stream.Urgency = link.Original.ChannelType.ToUrgency();
            var rewritten = new ArrayBufferWriter<byte>(link.Forwarded.TotalLength);
            link.Forwarded.WriteTo(rewritten);
            await stream.WriteAsync(rewritten.WrittenMemory, false, cancellationToken).ConfigureAwait(false);
        }

        return await PumpAsync(client, stream, first, leftover, host, port, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens the channel's stream; a refusal or an unreachable server edge is logged, counted, and closes the client.</summary>
    private async Task<(ITransportStream Stream, ReadOnlyMemory<byte> Leftover)?> TryOpenChannelAsync(Socket client, string edgeName, EdgeRequest request, ReadOnlyMemory<byte> early, CancellationToken cancellationToken)
    {
        try
        {
            return await OpenChannelAsync(edgeName, request, early, cancellationToken).ConfigureAwait(false);
        }
        catch (EdgeRefusedException ex)
        {
            ClientEdgeLog.Refused(_logger, request.LogName, request.Port, ex.Status, ex.Reason);
        }
        catch (TransportException ex)
        {
            ClientEdgeLog.OpenFailed(_logger, request.LogName, request.Port, ex.Error.ToString(), ex.Message);
            AccelMetrics.Errors.Add(1, AccelMetrics.Tags("kind", "edge_unreachable"));
        }

        client.Close();
        return null;
    }

    private async Task<RelayOutcome> PumpAsync(Socket client, ITransportStream stream, FirstBytes first, ReadOnlyMemory<byte> leftover, string host, ushort port, MigrationRedirect? migrationRedirect, CancellationToken cancellationToken)
    {
        if (first.Link is null)
        {
            ClientEdgeLog.Opaque(_logger, host, port);
        }

        var channel = (first.Link?.Original.ChannelType ?? default).ToLabel();
        var setup = new PumpSetup
        {
            Settings = _settings.Relay,
            Policies = new ClientEdgePolicies(_settings.Relay.ClientLegAckWindow, migrationRedirect is null ? null : target => migrationRedirect(target.Host, target.Port) is { } to ? target.RedirectTo(to.Host, to.Port, 0, null) : null, _logger,
                _features.DisplayPreview(stream), _features.InputDatagrams(stream)),
            ClientLink = first.Link,
            Opaque = first.Link is null,
        };
        var pump = new ChannelPump(
            new SocketLeg(client, null, first.Rest, _settings.Relay),
            new StreamLeg(stream, leftover, _settings.Relay.BufferSize),
            setup,
            _logger);
        AccelMetrics.ActiveChannels.Add(1, AccelMetrics.Tags("channel", channel));
        try
        {
            var outcome = await pump.RunAsync(cancellationToken).ConfigureAwait(false);
            ClientEdgeLog.ChannelEnded(_logger, channel, host, port, outcome);
            WanCompressedStream.LogSummary(_logger, stream, channel);
            ResumeLog.ChannelEnded(_logger, WanCompressedStream.Unwrap(stream), first.Link?.Original.ChannelType == SpiceChannelType.Main, host, port);
            return outcome;
        }
        finally
        {
            AccelMetrics.ActiveChannels.Add(-1, AccelMetrics.Tags("channel", channel));
        }
    }

    /// <summary>What the client sent first: its SpiceLinkMess (as read and as forwarded), or TLS (no link), or a failure.</summary>
    private readonly record struct FirstBytes(ClientLink? Link, ReadOnlyMemory<byte> Rest, RelayOutcome? Failure);

    /// <summary>
    /// Reads the client's link header and SpiceLinkMess within the link timeout (after <paramref name="prefix"/>, bytes
    /// read already); bad input is logged and closed. A client that speaks TLS is carried opaque: all its bytes are the rest.
    /// </summary>
    private async Task<FirstBytes> ReadLinkMessAsync(Socket client, ReadOnlyMemory<byte> prefix, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Max((int)SpiceLinkHeader.DefaultMaxSize + SpiceLinkHeader.Length, prefix.Length)];
        prefix.CopyTo(buffer);
        var filled = prefix.Length;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.LinkTimeout);
        try
        {
            while (true)
            {
                var sequence = new ReadOnlySequence<byte>(buffer, 0, filled);
                if (filled >= 1 && LinkSniff.IsTls(buffer[0]))
                {
                    return new FirstBytes(null, buffer.AsMemory(0, filled), null);
                }

                if (filled >= 4 && !buffer.AsSpan(0, 4).SequenceEqual("REDQ"u8))
                {
                    AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", "not_spice"));
                    ClientEdgeLog.NotSpice(_logger, client.RemoteEndPoint);
                    client.Close();
                    return new FirstBytes(null, default, RelayOutcome.ProtocolViolation);
                }

                if (SpiceLinkMess.TryParse(ref sequence, SpiceLinkHeader.DefaultMaxSize, out var message))
                {
                    var link = new ClientLink(message!, ClientEdgePolicies.RewriteLink(message!));
                    return new FirstBytes(link, buffer.AsMemory(filled - (int)sequence.Length, (int)sequence.Length), null);
                }

                if (filled == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, timeout.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    return new FirstBytes(null, default, RelayOutcome.SocketFailed);
                }

                filled += n;
            }
        }
        catch (SpiceProtocolException ex)
        {
            AccelMetrics.Refusals.Add(1, AccelMetrics.Tags("reason", "bad_link"));
            ClientEdgeLog.BadLink(_logger, client.RemoteEndPoint, ex.Message);
            client.Close();
            return new FirstBytes(null, default, RelayOutcome.ProtocolViolation);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            ClientEdgeLog.LinkTimeout(_logger, client.RemoteEndPoint);
            client.Close();
            return new FirstBytes(null, default, RelayOutcome.ProtocolViolation);
        }
        catch (SocketException)
        {
            return new FirstBytes(null, default, RelayOutcome.SocketFailed);
        }
    }

    /// <summary>Opens a stream to a backend and waits for the server edge's answer. <paramref name="early"/> is sent with the request.</summary>
    public async Task<(ITransportStream Stream, ReadOnlyMemory<byte> Leftover)> OpenChannelAsync(string edgeName, EdgeRequest request, ReadOnlyMemory<byte> early, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.OpenTimeout);
        try
        {
            return await OpenChannelCoreAsync(edgeName, request, early, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TransportException(TransportError.ConnectionRefused, $"server edge {edgeName} did not answer within {_settings.OpenTimeout.TotalSeconds:0.#} s");
        }
    }

    private async Task<(ITransportStream Stream, ReadOnlyMemory<byte> Leftover)> OpenChannelCoreAsync(string edgeName, EdgeRequest request, ReadOnlyMemory<byte> early, CancellationToken cancellationToken)
    {
        var connection = await _links.GetAsync(edgeName, cancellationToken).ConfigureAwait(false);
        var watch = _links.WatchOf(edgeName);
        if (watch is { IsDown: true })
        {
            // The connection is still open but its peer stopped answering: refuse now rather than after OpenTimeout.
            throw Unanswered(edgeName, watch);
        }

        using var down = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, watch?.DownToken ?? default);
        try
        {
            try
            {
                return await OpenOnceAsync(connection, edgeName, request, early, down.Token).ConfigureAwait(false);
            }
            catch (EdgeRefusedException ex) when (EdgeRequest.IsUnknownFlagsRefusal(ex.Status, ex.Reason) && !_features.IsLegacy(connection))
            {
                // An older server edge: the same channel without the features it does not know.
                ClientEdgeLog.OlderServerEdge(_logger, edgeName, ex.Reason);
                _features.MarkLegacy(connection);
                return await OpenOnceAsync(connection, edgeName, request, early, down.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && watch is not null)
        {
            throw Unanswered(edgeName, watch);
        }
    }

    private static TransportException Unanswered(string edgeName, LinkWatch watch)
        => new(TransportError.ConnectionRefused, $"server edge {edgeName} is not answering (no packet for {watch.Silence.TotalSeconds:0.#} s)");

    private async Task<(ITransportStream Stream, ReadOnlyMemory<byte> Leftover)> OpenOnceAsync(ITransportConnection connection, string edgeName, EdgeRequest request, ReadOnlyMemory<byte> early, CancellationToken cancellationToken)
    {
        var stream = await connection.OpenStreamAsync(StreamDirection.Bidirectional, request.Urgency, cancellationToken).ConfigureAwait(false);
        try
        {
            var route = new ChannelRoute(connection, stream.Id);
            request = _features.Ask(connection, stream, route, request);
            if (_resumer.Enabled && !_features.IsLegacy(connection))
            {
                request = request with { Flags = (byte)(request.Flags | EdgeRequest.ResumableFlag), Token = System.Security.Cryptography.RandomNumberGenerator.GetBytes(EdgeRequest.TokenLength) };
            }

            // Compressed channels (WanCodec): the early bytes go as the first block, encoded by the channel's own codec.
            // Never TLS end to end (the server edge looks for it in the first byte, and it would not shrink).
            var codec = _settings.WanCompression && WanCodec.Compresses(request.ChannelType) && !_features.IsLegacy(connection)
                && (early.IsEmpty || !LinkSniff.IsTls(early.Span[0]))
                ? new WanCodec(compress: true, request.ChannelType)
                : null;
            if (codec is not null)
            {
                request = request with { Flags = (byte)(request.Flags | EdgeRequest.CompressedFlag) };
            }

            var head = new byte[EdgeRequest.MaxLength + WanCodec.MaxEncodedLength(early.Length)];
            var n = request.Write(head);
            int sent = codec is null || early.IsEmpty ? Copy(early.Span, head.AsSpan(n)) : codec.Encode(early.Span, head.AsSpan(n));
            await stream.WriteAsync(head.AsMemory(0, n + sent), false, cancellationToken).ConfigureAwait(false);

            var (leftover, _) = await EdgeAnswer.ReadAsync(stream, 0, cancellationToken).ConfigureAwait(false);
            ITransportStream channel = stream;
            if (request.IsResumable)
            {
                // A resume moves the route: previews and pointer datagrams follow the channel to its new connection.
                channel = _resumer.Wrap(stream, edgeName, request, head.AsSpan(n, sent), leftover.Length, route);
                _features.Alias(stream, channel);
            }

            if (codec is null)
            {
                return (channel, leftover);
            }

            var compressed = new WanCompressedStream(channel, codec, leftover);
            _features.Alias(channel, compressed);
            return (compressed, ReadOnlyMemory<byte>.Empty);
        }
        catch
        {
            stream.Abort(AbortDirection.Both, RelayErrorCodes.Refused);
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => _links.DisposeAsync();

    private static int Copy(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    /// <summary>
    /// Connects to the named server edge now, unless a live connection exists, and returns it; channels opened later
    /// share it. Lets the hosting layer connect at start (readiness) and reconnect when the connection is lost.
    /// </summary>
    public ValueTask<ITransportConnection> ConnectAsync(string edgeName, CancellationToken cancellationToken)
        => _links.GetAsync(edgeName, cancellationToken, reconnecting: true);

    /// <summary>
    /// A reload: the server edges' addresses and trust (by the names configured at start) for their next connects; a
    /// connection to a server edge whose key is no longer trusted is closed. Returns how many were closed.
    /// </summary>
    public int UpdateServerEdges(IReadOnlyDictionary<string, ServerEdgeTarget> targets) => _links.Update(targets);
}

internal static partial class ClientEdgeLog
{
    [LoggerMessage(1101, LogLevel.Warning, "Connection from {Remote} is not SPICE (no REDQ link header); closed")]
    public static partial void NotSpice(ILogger logger, EndPoint? remote);

    [LoggerMessage(1107, LogLevel.Warning, "Connection from {Remote} sent a bad SPICE link message ({Reason}); closed")]
    public static partial void BadLink(ILogger logger, EndPoint? remote, string reason);

    [LoggerMessage(1102, LogLevel.Warning, "Connection from {Remote} sent no SPICE link header in time; closed")]
    public static partial void LinkTimeout(ILogger logger, EndPoint? remote);

    [LoggerMessage(1103, LogLevel.Warning, "Channel to {Host}:{Port} refused by the server edge: {Status} ({Reason})")]
    public static partial void Refused(ILogger logger, string host, int port, EdgeStatus status, string reason);

    [LoggerMessage(1104, LogLevel.Warning, "Channel to {Host}:{Port} could not be opened: {Error}: {Message}")]
    public static partial void OpenFailed(ILogger logger, string host, int port, string error, string message);

    [LoggerMessage(1105, LogLevel.Debug, "Channel {Channel} to {Host}:{Port} ended: {Outcome}")]
    public static partial void ChannelEnded(ILogger logger, string channel, string host, int port, RelayOutcome outcome);

    [LoggerMessage(1108, LogLevel.Information, "Channel to {Host}:{Port} relayed as bytes: the client speaks TLS to the server (end to end)")]
    public static partial void Opaque(ILogger logger, string host, int port);

    [LoggerMessage(1109, LogLevel.Information, "Server edge {Name} is an older version ({Reason}): channels are opened without display previews, input datagrams and resume")]
    public static partial void OlderServerEdge(ILogger logger, string name, string reason);

    [LoggerMessage(1106, LogLevel.Warning, "Connecting to server edge {Name} at {Address} failed: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string name, string address, string reason);

    [LoggerMessage(1110, LogLevel.Warning, "Server edge {Name}: its key is no longer in Client:ServerEdges:{Name}:Pins (reload); its connection is closed and its channels resume once a connection the new pins accept is up")]
    public static partial void PinRemoved(ILogger logger, string name);
}
