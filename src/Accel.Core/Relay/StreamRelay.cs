using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Accel.Core.Diagnostics;
using Accel.Core.Transport;

namespace Accel.Core.Relay;

/// <summary>How a relayed channel ended. Expected endings are logged at Debug, the rest at Warning.</summary>
public enum RelayOutcome
{
    /// <summary>Both sides finished cleanly.</summary>
    Completed,
    /// <summary>The TCP side reset or failed.</summary>
    SocketFailed,
    /// <summary>The other edge reset the stream or the QUIC connection died.</summary>
    PeerAborted,
    /// <summary>Shutdown of this edge.</summary>
    Canceled,
    /// <summary>The SPICE stream broke the protocol (oversized or malformed message).</summary>
    ProtocolViolation,
}

/// <summary>Application error codes edges put on RESET_STREAM / STOP_SENDING.</summary>
public static class RelayErrorCodes
{
    public const long SocketClosed = 0x101;
    public const long Shutdown = 0x102;
    public const long ProtocolViolation = 0x103;
    public const long Refused = 0x104;
}

/// <summary>
/// Copies one SPICE channel between a local TCP socket and a QUIC stream, both directions, with one pooled buffer
/// per direction. Half-closes are carried (TCP FIN ↔ QUIC FIN); a failure on one side aborts the other.
/// </summary>
public sealed class StreamRelay
{
    private const int BufferSize = 64 * 1024;

    private readonly Socket _socket;
    private readonly ITransportStream _stream;
    private readonly bool _socketIsClient;
    private TagList _toStreamTags;
    private TagList _toSocketTags;
    private volatile bool _labelled;
    private readonly ReadOnlyMemory<byte> _initialToStream;
    private readonly ReadOnlyMemory<byte> _initialToSocket;

    /// <param name="socket">The local SPICE TCP connection.</param>
    /// <param name="stream">The edge-to-edge stream, past its request/response header.</param>
    /// <param name="channelType">SPICE channel type, for metric labels.</param>
    /// <param name="socketIsClient">True at the client edge (the socket is remote-viewer), false at the server edge.</param>
    /// <param name="initialToStream">Bytes already read from the socket that go first to the stream.</param>
    /// <param name="initialToSocket">Bytes already read from the stream that go first to the socket.</param>
    public StreamRelay(Socket socket, ITransportStream stream, byte channelType, bool socketIsClient, ReadOnlyMemory<byte> initialToStream = default, ReadOnlyMemory<byte> initialToSocket = default)
    {
        _initialToSocket = initialToSocket;
        _socket = socket;
        _stream = stream;
        _socketIsClient = socketIsClient;
        _initialToStream = initialToStream;
        SetLabel(channelType);
        _labelled = channelType != 0;
    }

    /// <summary>
    /// When the channel type was not known up front (HTTP CONNECT), it is learnt from the SpiceLinkMess in the first
    /// bytes toward the server: "REDQ", version, size (16 bytes), then connection id (4) and the channel type.
    /// </summary>
    private void LearnChannel(ReadOnlySpan<byte> towardServer)
    {
        if (towardServer.Length > 20 && towardServer[..4].SequenceEqual("REDQ"u8))
        {
            SetLabel(towardServer[20]);
        }

        _labelled = true;
    }

    private void SetLabel(byte channelType)
    {
        var label = AccelMetrics.ChannelLabel(channelType);
        _toStreamTags = AccelMetrics.Tags("channel", label, "direction", _socketIsClient ? "to_server" : "to_client");
        _toSocketTags = AccelMetrics.Tags("channel", label, "direction", _socketIsClient ? "to_client" : "to_server");
    }

    public async Task<RelayOutcome> RunAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var up = SocketToStreamAsync(linked);
        var down = StreamToSocketAsync(linked);
        var upOutcome = await up.ConfigureAwait(false);
        var downOutcome = await down.ConfigureAwait(false);
        return Worst(upOutcome, downOutcome, cancellationToken.IsCancellationRequested);
    }

    private static RelayOutcome Worst(RelayOutcome a, RelayOutcome b, bool shutdown)
    {
        if (shutdown)
        {
            return RelayOutcome.Canceled;
        }

        return a != RelayOutcome.Completed ? a : b;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RelayOutcome> SocketToStreamAsync(CancellationTokenSource linked)
    {
        var token = linked.Token;
        byte[]? buffer = null;
        try
        {
            if (!_initialToStream.IsEmpty)
            {
                if (!_labelled && _socketIsClient)
                {
                    LearnChannel(_initialToStream.Span);
                }

                await _stream.WriteAsync(_initialToStream, false, token).ConfigureAwait(false);
                AccelMetrics.RelayBytes.Add(_initialToStream.Length, _toStreamTags);
            }

            while (true)
            {
                // Zero-byte read first: an idle channel holds no buffer.
                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, token).ConfigureAwait(false);
                buffer ??= ArrayPool<byte>.Shared.Rent(BufferSize);
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, token).ConfigureAwait(false);
                if (n == 0)
                {
                    _stream.CompleteWrites();
                    return RelayOutcome.Completed;
                }

                if (!_labelled && _socketIsClient)
                {
                    LearnChannel(buffer.AsSpan(0, n));
                }

                await _stream.WriteAsync(buffer.AsMemory(0, n), false, token).ConfigureAwait(false);
                AccelMetrics.RelayBytes.Add(n, _toStreamTags);
            }
        }
        catch (OperationCanceledException)
        {
            return RelayOutcome.Canceled;
        }
        catch (SocketException)
        {
            _stream.Abort(AbortDirection.Both, RelayErrorCodes.SocketClosed);
            await linked.CancelAsync().ConfigureAwait(false);
            return RelayOutcome.SocketFailed;
        }
        catch (ObjectDisposedException)
        {
            return RelayOutcome.Canceled;
        }
        catch (TransportException)
        {
            Reset(_socket);
            await linked.CancelAsync().ConfigureAwait(false);
            return RelayOutcome.PeerAborted;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RelayOutcome> StreamToSocketAsync(CancellationTokenSource linked)
    {
        var token = linked.Token;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            if (!_initialToSocket.IsEmpty)
            {
                if (!_labelled && !_socketIsClient)
                {
                    LearnChannel(_initialToSocket.Span);
                }

                await _socket.SendAsync(_initialToSocket, SocketFlags.None, token).ConfigureAwait(false);
                AccelMetrics.RelayBytes.Add(_initialToSocket.Length, _toSocketTags);
            }

            while (true)
            {
                var n = await _stream.ReadAsync(buffer, token).ConfigureAwait(false);
                if (n == 0)
                {
                    _socket.Shutdown(SocketShutdown.Send);
                    return RelayOutcome.Completed;
                }

                if (!_labelled && !_socketIsClient)
                {
                    LearnChannel(buffer.AsSpan(0, n));
                }

                await _socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, token).ConfigureAwait(false);
                AccelMetrics.RelayBytes.Add(n, _toSocketTags);
            }
        }
        catch (OperationCanceledException)
        {
            return RelayOutcome.Canceled;
        }
        catch (TransportException)
        {
            Reset(_socket);
            await linked.CancelAsync().ConfigureAwait(false);
            return RelayOutcome.PeerAborted;
        }
        catch (SocketException)
        {
            _stream.Abort(AbortDirection.Both, RelayErrorCodes.SocketClosed);
            await linked.CancelAsync().ConfigureAwait(false);
            return RelayOutcome.SocketFailed;
        }
        catch (ObjectDisposedException)
        {
            return RelayOutcome.Canceled;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Closes the socket with RST so the SPICE peer sees the failure at once.</summary>
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
}
