using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using Accel.Core.Diagnostics;
using Accel.Core.Spice;
using Accel.Core.Spice.Framing;
using Accel.Core.Spice.Messages;
using Accel.Core.Transport;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Relay;

/// <summary>Settings of the message-aware relay.</summary>
public sealed record SpiceRelaySettings
{
    public static SpiceRelaySettings Default { get; } = new();

    /// <summary>Largest message accepted per channel type; a larger size field is a protocol violation.</summary>
    internal SpiceFramingLimits Limits { get; init; } = SpiceFramingLimits.Default;

    /// <summary>ACK window the client edge gives the SPICE client (LAN leg).</summary>
    public uint ClientLegAckWindow { get; init; } = 20;

    /// <summary>Largest body of a message the relay must inspect whole (ACKs, inputs, migration).</summary>
    public int MaxInspectedMessage { get; init; } = 64 * 1024;

    /// <summary>
    /// Re-encoding of display images at the server edge (<see cref="Spice.Display.DisplayCodec.Off"/>: none). Ignored at
    /// the client edge.
    /// </summary>
    public Spice.Display.DisplayCodec DisplayCodec { get; init; } = Spice.Display.DisplayCodec.Off;

    /// <summary>
    /// When true (the default) a re-encoded image that is not smaller than the server's is dropped in favour of the
    /// original; tests turn it off to force every image through the configured codec.
    /// </summary>
    internal bool DisplayKeepSmallerOriginal { get; init; } = true;

    /// <summary>Largest draw message read whole for re-encoding; larger ones are streamed through unchanged.</summary>
    public int MaxTranscodedMessage { get; init; } = 16 * 1024 * 1024;

    /// <summary>Read buffer of each direction.</summary>
    public int BufferSize { get; init; } = 64 * 1024;

    /// <summary>The server edge's display budget (ACK pacing toward spice-server). Ignored at the client edge.</summary>
    public Spice.Display.DisplayBudgetSettings DisplayBudget { get; init; } = Spice.Display.DisplayBudgetSettings.Default;
}

/// <summary>
/// Relays one SPICE channel between a local TCP socket and an edge-to-edge stream, message by message.
/// The link phase passes through byte for byte (the ticket stays opaque; GL scanout and seamless-migration caps are
/// stripped at the client edge). Afterwards, on channels that negotiated the mini header:
/// <list type="bullet">
/// <item>display and cursor ACK flow control is terminated on each leg: the server edge answers the server's SET_ACK
/// and sends its ACKs, the client edge gives the client its own SET_ACK and swallows its ACKs, so neither side ever
/// waits a WAN round trip for an ACK;</item>
/// <item>pointer motion is acknowledged at the client edge (MOUSE_MOTION_ACK every 4 motions) and coalesced toward
/// the server (at most 8 in flight across the WAN, deltas summed), so the pointer is never paced by the RTT;</item>
/// <item>GL-only display messages are dropped; every size field is checked against the channel's limit before any
/// byte of the body is buffered, and bodies of messages that pass through are streamed, never buffered whole.</item>
/// </list>
/// Channels without the mini header (very old peers), and SASL links, are relayed as bytes.
/// </summary>
internal sealed partial class SpiceChannelRelay
{
    private readonly Socket _socket;
    private readonly ITransportStream _stream;
    private readonly bool _atClientEdge;
    private readonly SpiceRelaySettings _settings;
    private readonly ILogger _logger;
    private readonly Stream _socketStream;
    private readonly PipeReader _fromSocket;
    private readonly PipeReader _fromStream;
    private readonly PipeWriter _toSocket;
    private readonly PipeWriter _toStream;
    private readonly SemaphoreSlim _socketGate = new(1, 1);
    private readonly SemaphoreSlim _streamGate = new(1, 1);
    private readonly System.Net.Security.SslStream? _tls;
    private SpiceChannelType _channelType;
    private TagList _toServerTags;
    private TagList _toClientTags;

    /// <param name="socket">The local SPICE connection: the client at the client edge, the server at the server edge.</param>
    /// <param name="stream">The edge-to-edge stream, past its request/response header.</param>
    /// <param name="atClientEdge">Which edge this is.</param>
    /// <param name="fromSocketPrefix">Bytes already read from the socket.</param>
    /// <param name="fromStreamPrefix">Bytes already read from the stream.</param>
    /// <param name="localStream">The socket's stream when it is not the plain socket (TLS toward the backend).</param>
    public SpiceChannelRelay(Socket socket, ITransportStream stream, bool atClientEdge, SpiceRelaySettings settings, ILogger logger, ReadOnlyMemory<byte> fromSocketPrefix = default, ReadOnlyMemory<byte> fromStreamPrefix = default, Stream? localStream = null)
    {
        _socket = socket;
        _stream = stream;
        _atClientEdge = atClientEdge;
        _settings = settings;
        _logger = logger;
        _tls = localStream as System.Net.Security.SslStream;
        _socketStream = new PrefixedStream(localStream ?? new NetworkStream(socket, ownsSocket: false), fromSocketPrefix);
        var readerOptions = new StreamPipeReaderOptions(bufferSize: settings.BufferSize, minimumReadSize: 4096, leaveOpen: true);
        var writerOptions = new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true);
        _fromSocket = PipeReader.Create(_socketStream, readerOptions);
        _toSocket = PipeWriter.Create(_socketStream, writerOptions);
        var adapter = new PrefixedStream(new TransportStreamAdapter(stream), fromStreamPrefix);
        _fromStream = PipeReader.Create(adapter, readerOptions);
        _toStream = PipeWriter.Create(adapter, writerOptions);
        SetChannel(default);
    }

    /// <summary>The edge connection's statistics (server edge: the display budget reads the path's min RTT from it).</summary>
    public Func<ConnectionStatistics>? PathStatistics { get; init; }

    /// <summary>The channel type, known once the client's SpiceLinkMess has been read.</summary>
    public SpiceChannelType ChannelType => _channelType;

    /// <summary>Messages answered locally instead of across the WAN (ACKs and motion ACKs), for tests and metrics.</summary>
    public long LocalAnswers { get; private set; }

    /// <summary>Motion messages merged instead of sent across the WAN.</summary>
    public long MotionsCoalesced => _coalescer?.Coalesced ?? 0;

    // Up = toward the server, down = toward the client.
    private PipeReader UpSource => _atClientEdge ? _fromSocket : _fromStream;

    private PipeReader DownSource => _atClientEdge ? _fromStream : _fromSocket;

    private PipeWriter UpDestination => _atClientEdge ? _toStream : _toSocket;

    private PipeWriter DownDestination => _atClientEdge ? _toSocket : _toStream;

    private SemaphoreSlim UpGate => _atClientEdge ? _streamGate : _socketGate;

    private SemaphoreSlim DownGate => _atClientEdge ? _socketGate : _streamGate;

    public async Task<RelayOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = linked.Token;
        AccelMetrics.Track(_stream);
        try
        {
            var mode = await LinkAsync(token).ConfigureAwait(false);
            var up = PumpAsync(up: true, mode, linked);
            var down = PumpAsync(up: false, mode, linked);
            var pacing = _budget is null ? Task.CompletedTask : PaceAcksAsync(linked.Token);
            var a = await up.ConfigureAwait(false);
            var b = await down.ConfigureAwait(false);
            await linked.CancelAsync().ConfigureAwait(false);
            await pacing.ConfigureAwait(false);
            return cancellationToken.IsCancellationRequested ? RelayOutcome.Canceled : a != RelayOutcome.Completed ? a : b;
        }
        catch (Exception ex) when (Classify(ex, cancellationToken) is { } outcome)
        {
            Fail(outcome, ex);
            return outcome;
        }
        finally
        {
            AccelMetrics.Untrack(_stream);
            await _fromSocket.CompleteAsync().ConfigureAwait(false);
            await _fromStream.CompleteAsync().ConfigureAwait(false);
            await _socketStream.DisposeAsync().ConfigureAwait(false);
            _transcoder?.Dispose();
            _budget?.Dispose();
        }
    }

    private async Task<RelayOutcome> PumpAsync(bool up, RelayMode mode, CancellationTokenSource linked)
    {
        try
        {
            if (mode == RelayMode.Bytes)
            {
                await CopyBytesAsync(up, linked.Token).ConfigureAwait(false);
            }
            else
            {
                await CopyMessagesAsync(up, linked.Token).ConfigureAwait(false);
            }

            return RelayOutcome.Completed;
        }
        catch (Exception ex) when (Classify(ex, linked.Token) is { } outcome)
        {
            Fail(outcome, ex);
            await linked.CancelAsync().ConfigureAwait(false);
            return outcome;
        }
    }

    /// <summary>Maps a failure to an outcome; null for exceptions that are bugs (they propagate).</summary>
    private static RelayOutcome? Classify(Exception ex, CancellationToken token) => ex switch
    {
        OperationCanceledException => token.IsCancellationRequested ? RelayOutcome.Canceled : RelayOutcome.PeerAborted,
        SpiceProtocolException => RelayOutcome.ProtocolViolation,
        TransportException => RelayOutcome.PeerAborted,
        IOException { InnerException: TransportException } => RelayOutcome.PeerAborted,
        IOException or SocketException or ObjectDisposedException => RelayOutcome.SocketFailed,
        _ => null,
    };

    private void Fail(RelayOutcome outcome, Exception ex)
    {
        switch (outcome)
        {
            case RelayOutcome.ProtocolViolation:
                SpiceRelayLog.ProtocolViolation(_logger, _channelType.ToLabel(), _atClientEdge ? "client edge" : "server edge", ex.Message);
                AccelMetrics.Errors.Add(1, AccelMetrics.Tags("kind", "protocol_violation"));
                _stream.Abort(AbortDirection.Both, RelayErrorCodes.ProtocolViolation);
                Reset(_socket);
                break;
            case RelayOutcome.SocketFailed:
                _stream.Abort(AbortDirection.Both, RelayErrorCodes.SocketClosed);
                break;
            case RelayOutcome.PeerAborted:
                Reset(_socket);
                break;
            default:
                break;
        }
    }

    private void SetChannel(SpiceChannelType type)
    {
        _channelType = type;
        var label = type == default ? "unknown" : type.ToLabel();
        _toServerTags = AccelMetrics.Tags("channel", label, "direction", "to_server");
        _toClientTags = AccelMetrics.Tags("channel", label, "direction", "to_client");
    }

    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Ends the write side of a destination after its source finished cleanly.</summary>
    private async ValueTask CompleteDestinationAsync(bool up)
    {
        var toSocket = up != _atClientEdge;
        try
        {
            if (toSocket)
            {
                if (_tls is not null)
                {
                    await _tls.ShutdownAsync().ConfigureAwait(false); // TLS close_notify before the FIN
                }

                _socket.Shutdown(SocketShutdown.Send);
            }
            else
            {
                _stream.CompleteWrites();
            }
        }
        catch (SocketException)
        {
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async ValueTask CopyBytesAsync(bool up, CancellationToken token)
    {
        var source = up ? UpSource : DownSource;
        var destination = up ? UpDestination : DownDestination;
        var gate = up ? UpGate : DownGate;
        var tags = up ? _toServerTags : _toClientTags;
        while (true)
        {
            var result = await source.ReadAsync(token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (!buffer.IsEmpty)
            {
                await gate.WaitAsync(token).ConfigureAwait(false);
                try
                {
                    Copy(buffer, destination);
                    await destination.FlushAsync(token).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }

                AccelMetrics.RelayBytes.Add(buffer.Length, tags);
            }

            source.AdvanceTo(buffer.End);
            if (result.IsCompleted)
            {
                await CompleteDestinationAsync(up).ConfigureAwait(false);
                return;
            }
        }
    }

    private static void Copy(in ReadOnlySequence<byte> data, PipeWriter destination)
    {
        foreach (var segment in data)
        {
            destination.Write(segment.Span);
        }
    }

    private enum RelayMode
    {
        Messages,
        Bytes,
    }
}

internal static partial class SpiceRelayLog
{
    [LoggerMessage(1201, LogLevel.Warning, "SPICE {Channel} channel closed by the {Edge}: protocol violation: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, string channel, string edge, string reason);

    [LoggerMessage(1202, LogLevel.Information, "SPICE {Channel} channel relayed as bytes: {Reason}")]
    public static partial void BytesMode(ILogger logger, string channel, string reason);

    [LoggerMessage(1203, LogLevel.Debug, "SPICE {Channel} channel linked (mini header {MiniHeader})")]
    public static partial void Linked(ILogger logger, string channel, bool miniHeader);

    [LoggerMessage(1204, LogLevel.Information, "SPICE {Channel} link refused by the server: {Error}")]
    public static partial void LinkRefused(ILogger logger, string channel, string error);

    [LoggerMessage(1206, LogLevel.Information, "Migration to {Host}:{Port} rewritten to {NewHost}:{NewPort} (through the edges)")]
    public static partial void MigrationRewritten(ILogger logger, string host, int port, string newHost, int newPort);

    [LoggerMessage(1205, LogLevel.Information, "Migration to {Host}:{Port} passed through unchanged (the client reaches it through the edges by proxy or redirect)")]
    public static partial void MigrationUnchanged(ILogger logger, string host, int port);
}
