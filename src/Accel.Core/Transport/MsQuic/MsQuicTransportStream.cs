using System.Net.Quic;
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
    private long _pendingBytes;
    private byte _urgency;

    public MsQuicTransportStream(MsQuicTransportConnection owner, QuicStream stream, byte urgency)
    {
        _owner = owner;
        _stream = stream;
        _urgency = urgency;
        _ticket = owner.Arbiter.CreateTicket();
        WritesClosed = Translate(stream.WritesClosed);
        ReadsClosed = Translate(stream.ReadsClosed);
    }

    public long Id => _stream.Id;

    public StreamDirection Direction => _stream.Type == QuicStreamType.Bidirectional ? StreamDirection.Bidirectional : StreamDirection.Unidirectional;

    public bool CanRead => _stream.CanRead;

    public bool CanWrite => _stream.CanWrite;

    public byte Urgency
    {
        get => _urgency;
        set => _urgency = StreamUrgency.Validate(value);
    }

    public long UnacknowledgedBytes => Interlocked.Read(ref _pendingBytes);

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
            throw MsQuicErrors.Translate(ex);
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
            throw MsQuicErrors.Translate(ex);
        }
    }

    public void CompleteWrites()
    {
        if (_stream.CanWrite)
        {
            _stream.CompleteWrites();
        }
    }

    public void Abort(AbortDirection direction, long errorCode)
    {
        var quicDirection = direction switch
        {
            AbortDirection.Read => QuicAbortDirection.Read,
            AbortDirection.Write => QuicAbortDirection.Write,
            _ => QuicAbortDirection.Both,
        };
        _stream.Abort(quicDirection, errorCode);
    }

    public async ValueTask DisposeAsync()
    {
        _owner.Untrack(this);
        await _stream.DisposeAsync().ConfigureAwait(false);
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
