using System.Net;
using System.Net.Quic;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Accel.Core.Transport.Scheduling;

namespace Accel.Core.Transport.MsQuic;

[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal sealed class MsQuicTransportConnection : ITransportConnection, IConnectionStatistics
{
    private readonly QuicConnection _connection;
    private readonly X509Certificate2? _certificate;
    private readonly Channel<MsQuicTransportStream> _inbound;
    private readonly TaskCompletionSource<TransportException> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _streamsLock = new();
    private readonly HashSet<MsQuicTransportStream> _streams = [];
    private readonly byte[] _peerSpki;
    private long _bytesSent;
    private long _bytesReceived;
    private TransportException? _localClose;
    private readonly SafeHandle? _handle;
    private readonly Lock _statisticsLock = new();
    private ConnectionStatistics _statistics;
    private long _statisticsAt = -1;
    private readonly MsQuicStreamCredit _credit;
    private readonly TimeSpan _closeWait;
    private long _openedBidirectional;
    private long _openedUnidirectional;

    /// <param name="credit">The stream credit the peer grants this connection (see <see cref="CloseAsync"/>).</param>
    /// <param name="closeWait">How long a graceful close waits at most for the peer to read what it was sent (the idle timeout).</param>
    public MsQuicTransportConnection(QuicConnection connection, X509Certificate2? certificate, long writeAheadBytes, MsQuicStreamCredit credit, TimeSpan closeWait)
    {
        _connection = connection;
        _certificate = certificate;
        _credit = credit;
        _closeWait = closeWait;
        Arbiter = new WriteArbiter(writeAheadBytes);
        _handle = MsQuicStatistics.HandleOf(connection);
        Capabilities = _handle is not null && MsQuicStatistics.TryRead(_handle, out _)
            ? TransportCapabilities.CongestionStatistics | TransportCapabilities.LossStatistics
            : TransportCapabilities.None;
        if (_handle is not null && MsQuicPriority.Reachable && MsQuicPriority.TrySetRoundRobin(_handle))
        {
            Capabilities |= TransportCapabilities.StreamPriority;
        }
        _peerSpki = connection.RemoteCertificate is { } peer
            ? SHA256.HashData(new X509Certificate2(peer).PublicKey.ExportSubjectPublicKeyInfo())
            : [];
        _inbound = Channel.CreateBounded<MsQuicTransportStream>(new BoundedChannelOptions(64)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = true,
        });
        _ = AcceptLoopAsync();
    }

    internal WriteArbiter Arbiter { get; }

    public EndPoint RemoteEndPoint => _connection.RemoteEndPoint;

    public EndPoint LocalEndPoint => _connection.LocalEndPoint;

    public string NegotiatedAlpn => _connection.NegotiatedApplicationProtocol.ToString();

    public ReadOnlyMemory<byte> PeerSpkiSha256 => _peerSpki;

    /// <summary>Statistics from libmsquic itself where its handle is reachable (see <see cref="MsQuicStatistics"/>).</summary>
    public TransportCapabilities Capabilities { get; }

    public Task<TransportException> Closed => _closed.Task;

    /// <summary>The congestion controller libmsquic runs for this connection (read back from it), or null where unreadable.</summary>
    internal CongestionControlAlgorithm? CongestionControl => MsQuicSettings.Read(_connection);

    public async ValueTask<ITransportStream> OpenStreamAsync(StreamDirection direction, byte urgency, CancellationToken cancellationToken = default)
    {
        // Refused before a stream is opened (not translated, nothing left open).
        StreamUrgency.Validate(urgency);
        try
        {
            var type = direction == StreamDirection.Bidirectional ? QuicStreamType.Bidirectional : QuicStreamType.Unidirectional;
            var stream = await _connection.OpenOutboundStreamAsync(type, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref direction == StreamDirection.Bidirectional ? ref _openedBidirectional : ref _openedUnidirectional);
            return Track(new MsQuicTransportStream(this, stream, urgency, outbound: true));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw MsQuicErrors.Translate(ex);
        }
    }

    public async ValueTask<ITransportStream> AcceptStreamAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _inbound.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            throw await _closed.Task.ConfigureAwait(false);
        }
    }

    public ConnectionStatistics GetStatistics()
    {
        if (_handle is null)
        {
            return new() { BytesSent = Interlocked.Read(ref _bytesSent), BytesReceived = Interlocked.Read(ref _bytesReceived) };
        }

        // Each read is a call into the connection's MsQuic worker: callers on a hot path share one per millisecond.
        lock (_statisticsLock)
        {
            var now = Environment.TickCount64;
            if (now - _statisticsAt >= 1 && MsQuicStatistics.TryRead(_handle, out var fresh))
            {
                _statistics = fresh;
                _statisticsAt = now;
            }

            return _statistics;
        }
    }

    /// <summary>
    /// Finishes every stream, waits until the peer acknowledged all of it, then until the peer has released every
    /// stream this end opened that is finished both ways (at most the idle timeout, or until cancelled), then sends
    /// CONNECTION_CLOSE. The second wait is the seam's promise that the peer's application can read everything:
    /// System.Net.Quic discards received data its application has not read yet when the connection closes, and a peer
    /// grants the stream back only once its reader is done with it (<see cref="MsQuicStreamCredit"/>).
    /// </summary>
    public async ValueTask CloseAsync(long applicationErrorCode, CancellationToken cancellationToken = default)
    {
        // System.Net.Quic's CloseAsync drops unsent data: finish and drain every stream first.
        MsQuicTransportStream[] open;
        lock (_streamsLock)
        {
            open = [.. _streams];
        }

        foreach (var stream in open)
        {
            stream.CompleteWrites();
        }

        foreach (var stream in open)
        {
            try
            {
                await stream.WritesClosed.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (TransportException)
            {
                // Reset streams have nothing to deliver.
            }
        }

        await WaitPeerReadAsync(cancellationToken).ConfigureAwait(false);

        // The accept loop fails as soon as the close starts: it must report this close, not "operation aborted".
        Volatile.Write(ref _localClose, new TransportException(TransportError.ConnectionClosed, "the connection was closed locally", applicationErrorCode));
        try
        {
            await _connection.CloseAsync(applicationErrorCode, cancellationToken).ConfigureAwait(false);
        }
        catch (QuicException ex)
        {
            throw MsQuicErrors.Translate(ex);
        }

        _closed.TrySetResult(_localClose);
    }

    public async ValueTask DisposeAsync()
    {
        var disposed = new TransportException(TransportError.ConnectionClosed, "the connection was disposed");
        Interlocked.CompareExchange(ref _localClose, disposed, null);
        _closed.TrySetResult(disposed);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _certificate?.Dispose();
    }

    /// <summary>Whether this end closed or disposed the connection.</summary>
    internal bool EndedLocally => Volatile.Read(ref _localClose) is not null;

    /// <summary>
    /// A stream operation's failure as the seam names it. Once this end closed or disposed the connection,
    /// System.Net.Quic fails pending stream operations as "operation aborted" (or with the stream disposed), as if the
    /// stream alone had been aborted; they failed because the connection ended (ngtcp2 says so too), which a resumable
    /// channel must see to wait for its resume instead of ending.
    /// </summary>
    internal TransportException StreamError(Exception ex)
    {
        var translated = MsQuicErrors.Translate(ex);
        return translated.Error is TransportError.OperationAborted or TransportError.ConnectionClosed && Volatile.Read(ref _localClose) is { } local
            ? new TransportException(TransportError.ConnectionClosed, local.Message, local.ApplicationErrorCode, ex)
            : translated;
    }

    internal void AddSent(int bytes) => Interlocked.Add(ref _bytesSent, bytes);

    internal void AddReceived(int bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    internal void Untrack(MsQuicTransportStream stream)
    {
        lock (_streamsLock)
        {
            _streams.Remove(stream);
        }
    }

    /// <summary>Waits until the peer released this end's streams that are finished both ways (bounded by the idle timeout).</summary>
    private async Task WaitPeerReadAsync(CancellationToken cancellationToken)
    {
        long bidirectional = Interlocked.Read(ref _openedBidirectional), unidirectional = Interlocked.Read(ref _openedUnidirectional);
        lock (_streamsLock)
        {
            foreach (var stream in _streams)
            {
                // Still open one way: the peer cannot release it yet, and waiting for it would wait for nothing.
                if (!stream.Outbound || (stream.ReadsClosed.IsCompleted && stream.WritesClosed.IsCompleted))
                {
                    continue;
                }

                if (stream.Direction == StreamDirection.Bidirectional)
                {
                    bidirectional--;
                }
                else
                {
                    unidirectional--;
                }
            }
        }

        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(_closeWait);
        try
        {
            await _credit.WaitReleasedAsync(bidirectional, unidirectional, bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The peer did not read within the idle timeout: close anyway.
        }
    }

    private MsQuicTransportStream Track(MsQuicTransportStream stream)
    {
        lock (_streamsLock)
        {
            _streams.Add(stream);
        }

        return stream;
    }

    private async Task AcceptLoopAsync()
    {
        TransportException reason;
        try
        {
            while (true)
            {
                var stream = await _connection.AcceptInboundStreamAsync().ConfigureAwait(false);
                await _inbound.Writer.WriteAsync(Track(new MsQuicTransportStream(this, stream, TransportDefaults.AcceptedStreamUrgency, outbound: false))).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            reason = Volatile.Read(ref _localClose) ?? MsQuicErrors.Translate(ex);
        }

        _closed.TrySetResult(reason);
        _inbound.Writer.TryComplete();
    }
}
