using System.Net.Quic;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Accel.Core.Transport.Scheduling;

namespace Accel.Core.Transport.MsQuic;

[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal sealed class MsQuicTransportStream : ITransportStream
{
    /// <summary>Weighted-class writes are handed to System.Net.Quic in pieces of at most this size.</summary>
    private const int ChunkBytes = 64 * 1024;

    private readonly MsQuicTransportConnection _owner;
    private readonly QuicStream _stream;
    private readonly WriteArbiter.Ticket _ticket;
    private readonly SafeHandle? _handle;
    private readonly Lock _urgencyLock = new();
    private long _pendingBytes;
    private long _completedBytes;
    private byte _urgency;
    private int _released;

    public MsQuicTransportStream(MsQuicTransportConnection owner, QuicStream stream, byte urgency, bool outbound)
    {
        _owner = owner;
        Outbound = outbound;
        _stream = stream;
        _handle = MsQuicPriority.HandleOf(stream);
        _urgency = StreamUrgency.Default; // libmsquic's default priority, which the stream starts with
        Urgency = urgency;
        _ticket = owner.Arbiter.CreateTicket();
        WritesClosed = Translate(stream.WritesClosed);
        ReadsClosed = Translate(stream.ReadsClosed);
        _ = ReleaseWhenClosedAsync();
    }

    public long Id => _stream.Id;

    /// <summary>Opened by this end (the peer grants stream credit back for it once done with it).</summary>
    public bool Outbound { get; }

    public StreamDirection Direction => _stream.Type == QuicStreamType.Bidirectional ? StreamDirection.Bidirectional : StreamDirection.Unidirectional;

    public bool CanRead => _stream.CanRead;

    public bool CanWrite => _stream.CanWrite;

    /// <summary>
    /// The urgency; libmsquic's priority of the stream follows it (<see cref="MsQuicPriority"/>), set when it changes,
    /// from the open (or the accept) on.
    /// </summary>
    public byte Urgency
    {
        get => _urgency;
        set
        {
            StreamUrgency.Validate(value);
            lock (_urgencyLock)
            {
                var before = _handle is null || Volatile.Read(ref _released) != 0 ? value : _urgency;
                _urgency = value;
                if (MsQuicPriority.Of(before) != MsQuicPriority.Of(value))
                {
                    MsQuicPriority.TrySet(_handle!, MsQuicPriority.Of(value));
                }
            }
        }
    }

    /// <summary>libmsquic's priority of the stream, read back from it (null where its handle cannot be read).</summary>
    internal ushort? EnginePriority => _handle is null ? null : MsQuicPriority.Read(_handle);

    public long UnacknowledgedBytes => Interlocked.Read(ref _pendingBytes);

    public long AcknowledgedBytes => Interlocked.Read(ref _completedBytes);

    public Task WritesClosed { get; }

    public Task ReadsClosed { get; }

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            var n = await _stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            _owner.AddReceived(n);
            return n;
        }
        catch (QuicException ex)
        {
            throw _owner.StreamError(ex);
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _released) != 0 && _stream.ReadsClosed.IsCompleted)
        {
            // Released once both directions finished: the end of the stream again, or how it ended.
            return _stream.ReadsClosed.IsCompletedSuccessfully ? 0 : throw _owner.StreamError(_stream.ReadsClosed.Exception!.InnerException!);
        }
        catch (ObjectDisposedException ex) when (_owner.EndedLocally)
        {
            throw _owner.StreamError(ex);
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool completeWrites = false, CancellationToken cancellationToken = default)
    {
        try
        {
            if (buffer.IsEmpty)
            {
                await _stream.WriteAsync(buffer, completeWrites, cancellationToken).ConfigureAwait(false);
                return;
            }

            while (!buffer.IsEmpty)
            {
                var urgency = _urgency;
                var chunk = SchedulerOptions.IsStrict(urgency) ? buffer : buffer[..Math.Min(ChunkBytes, buffer.Length)];
                var last = chunk.Length == buffer.Length;
                await _ticket.AcquireAsync(urgency, chunk.Length, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _pendingBytes, chunk.Length);
                try
                {
                    await _stream.WriteAsync(chunk, completeWrites && last, cancellationToken).ConfigureAwait(false);
                    Interlocked.Add(ref _completedBytes, chunk.Length);
                }
                finally
                {
                    Interlocked.Add(ref _pendingBytes, -chunk.Length);
                    _ticket.Release();
                }

                _owner.AddSent(chunk.Length);
                buffer = buffer[chunk.Length..];
            }
        }
        catch (QuicException ex)
        {
            throw _owner.StreamError(ex);
        }
        catch (ObjectDisposedException ex) when (Volatile.Read(ref _released) != 0 && _stream.WritesClosed.IsFaulted)
        {
            throw _owner.StreamError(_stream.WritesClosed.Exception!.InnerException ?? ex);
        }
        catch (ObjectDisposedException ex) when (_owner.EndedLocally)
        {
            throw _owner.StreamError(ex);
        }
    }

    public void CompleteWrites()
    {
        try
        {
            if (_stream.CanWrite)
            {
                _stream.CompleteWrites();
            }
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _released) != 0)
        {
            // Released in between: both directions had finished already.
        }
    }

    public void Abort(AbortDirection direction, long errorCode)
    {
        if (Volatile.Read(ref _released) != 0)
        {
            return;
        }

        var quicDirection = direction switch
        {
            AbortDirection.Read => QuicAbortDirection.Read,
            AbortDirection.Write => QuicAbortDirection.Write,
            _ => QuicAbortDirection.Both,
        };
        try
        {
            _stream.Abort(quicDirection, errorCode);
        }
        catch (ObjectDisposedException) when (Volatile.Read(ref _released) != 0)
        {
            // Released in between: nothing left to abort.
        }
    }

    /// <summary>
    /// Releases the stream without waiting for the peer. System.Net.Quic's dispose waits for the stream's
    /// SHUTDOWN_COMPLETE, which libmsquic raises for an aborted stream only once the peer acknowledged the reset: during
    /// an outage, not before the connection ends (a refused channel open then held its caller for the idle timeout; the
    /// ngtcp2 engine's dispose is local). The rest of System.Net.Quic's dispose finishes in the background.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        Volatile.Write(ref _released, 1);
        _owner.Untrack(this);
        var disposing = _stream.DisposeAsync();
        if (disposing.IsCompleted)
        {
            return disposing;
        }

        _ = FinishDisposeAsync(disposing);
        return ValueTask.CompletedTask;
    }

    private static async Task FinishDisposeAsync(ValueTask disposing)
    {
        try
        {
            await disposing.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is QuicException or ObjectDisposedException)
        {
            // The connection ended first: nothing left to release.
        }
    }

    /// <summary>
    /// MsQuic grants the peer a new stream (MAX_STREAMS) only once the stream's handle is closed, not when both
    /// directions are finished as ngtcp2 does: release the handle as soon as both are, so the seam behaves alike.
    /// </summary>
    private async Task ReleaseWhenClosedAsync()
    {
        try
        {
            await Task.WhenAll(_stream.ReadsClosed, _stream.WritesClosed).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Aborted or reset: the stream is just as finished.
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    private static async Task Translate(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw MsQuicErrors.Translate(ex);
        }
    }
}
