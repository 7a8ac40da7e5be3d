using System.Runtime.CompilerServices;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// One QUIC stream. Application calls (Read/Write/Abort) touch the shared state under <see cref="_lock"/>; the
/// connection loop owns the send cursor and talks to ngtcp2. Data written is copied into a bounded native send
/// buffer (backpressure when full); data received waits in a receive buffer and flow-control credit goes back to the
/// peer only as the application reads it.
/// </summary>
internal sealed class Ngtcp2Stream : ITransportStream
{
    /// <summary>Per-stream send buffer bound: one BDP of 250 ms × 100 Mbit/s, rounded up.</summary>
    internal const long SendBufferLimit = 4 * 1024 * 1024;

    private readonly Ngtcp2Connection _connection;
    private readonly object _lock = new();
    private readonly StreamSendBuffer _send = new();
    private readonly StreamReceiveBuffer _receive = new();
    private readonly StreamSide _read;
    private readonly StreamSide _write;

    private bool _finRequested;
    private bool _finReceived;
    private long _pendingCredit;
    private bool _disposed;
    private byte _urgency;

    internal Ngtcp2Stream(Ngtcp2Connection connection, long id, bool isServer, byte urgency)
    {
        _connection = connection;
        _read = new StreamSide(_lock);
        _write = new StreamSide(_lock);
        Id = id;
        _urgency = StreamUrgency.Validate(urgency);
        Direction = (id & 2) != 0 ? StreamDirection.Unidirectional : StreamDirection.Bidirectional;
        var local = ((id & 1) != 0) == isServer;
        CanRead = Direction == StreamDirection.Bidirectional || !local;
        CanWrite = Direction == StreamDirection.Bidirectional || local;
        if (!CanRead)
        {
            _read.Complete();
        }

        if (!CanWrite)
        {
            _write.Complete();
        }
    }

    public long Id { get; }

    public StreamDirection Direction { get; }

    public bool CanRead { get; }

    public bool CanWrite { get; }

    public byte Urgency { get => _urgency; set => _urgency = StreamUrgency.Validate(value); }

    public Task WritesClosed => _write.Closed;

    public Task ReadsClosed => _read.Closed;

    public long UnacknowledgedBytes
    {
        get
        {
            lock (_lock)
            {
                return _send.Buffered;
            }
        }
    }

    public long AcknowledgedBytes
    {
        get
        {
            lock (_lock)
            {
                return _send.Acknowledged;
            }
        }
    }

    // Loop-owned state.
    internal long SentOffset;
    internal bool FinSent;
    internal bool Queued;
    internal bool Blocked;
    internal bool NativeClosed;
    internal ulong ShutDeadline;
    internal int DataSignaled;
    internal int CreditSignaled;

    public ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!CanRead)
        {
            throw new InvalidOperationException("This stream cannot be read.");
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }

        return TryRead(buffer.Span, out var n, out _) ? new ValueTask<int>(n) : ReadSlowAsync(buffer, cancellationToken);
    }

    public ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool completeWrites = false, CancellationToken cancellationToken = default)
    {
        if (!CanWrite)
        {
            throw new InvalidOperationException("This stream cannot be written.");
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }

        if (TryWrite(ref buffer, completeWrites, out _))
        {
            _connection.SignalData(this);
            return ValueTask.CompletedTask;
        }

        _connection.SignalData(this);
        return WriteSlowAsync(buffer, completeWrites, cancellationToken);
    }

    public void CompleteWrites()
    {
        if (!CanWrite)
        {
            return;
        }

        lock (_lock)
        {
            if (_finRequested || _write.Error is not null)
            {
                return;
            }

            _finRequested = true;
        }

        _connection.SignalData(this);
    }

    public void Abort(AbortDirection direction, long errorCode)
    {
        if ((direction & AbortDirection.Write) != 0 && CanWrite)
        {
            bool post;
            lock (_lock)
            {
                post = _write.FailIfOpen(new TransportException(TransportError.OperationAborted, "The write side was aborted locally.", errorCode));
            }

            if (post)
            {
                _connection.PostAbort(this, AbortDirection.Write, errorCode);
            }
        }

        if ((direction & AbortDirection.Read) != 0 && CanRead)
        {
            bool post;
            long discarded = 0;
            lock (_lock)
            {
                post = _read.FailIfOpen(new TransportException(TransportError.OperationAborted, "The read side was aborted locally.", errorCode));
                if (post)
                {
                    discarded = _receive.Length;
                    _receive.Dispose();
                }
            }

            if (post)
            {
                if (discarded > 0)
                {
                    ReturnCredit(discarded);
                }

                _connection.PostAbort(this, AbortDirection.Read, errorCode);
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        bool abortRead;
        bool completeWrite;
        lock (_lock)
        {
            if (_disposed)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = true;
            abortRead = CanRead && _read.Error is null && !_read.IsClosed && !_finReceived;
            completeWrite = CanWrite && _write.Error is null && !_finRequested;
        }

        if (abortRead)
        {
            Abort(AbortDirection.Read, TransportDefaults.StreamAbortCode);
        }

        if (completeWrite)
        {
            CompleteWrites();
        }

        return ValueTask.CompletedTask;
    }

    private bool TryRead(Span<byte> destination, out int read, out ValueTask waiter)
    {
        waiter = default;
        read = 0;
        lock (_lock)
        {
            if (_receive.Length > 0)
            {
                read = _receive.Read(destination);
            }
            else if (_read.Error is not null)
            {
                throw _read.CopyOfError();
            }
            else if (_finReceived)
            {
                _read.Complete();
                return true;
            }
            else
            {
                waiter = _read.Waiter.Arm();
                return false;
            }
        }

        if (read > 0)
        {
            ReturnCredit(read);
        }

        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> ReadSlowAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryRead(buffer.Span, out var n, out var waiter))
            {
                return n;
            }

            try
            {
                using (_read.Waiter.RegisterCancellation(cancellationToken))
                {
                    await waiter.ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Abort(AbortDirection.Read, TransportDefaults.StreamAbortCode);
                throw;
            }
        }
    }

    private void ReturnCredit(long n)
    {
        Interlocked.Add(ref _pendingCredit, n);
        _connection.SignalCredit(this);
    }

    /// <summary>Loop: credit for bytes dropped without the application reading them.</summary>
    internal void AddCredit(long n) => Interlocked.Add(ref _pendingCredit, n);

    /// <summary>Loop: takes the credit the application returned since the last call.</summary>
    internal long TakeCredit() => Interlocked.Exchange(ref _pendingCredit, 0);

    private bool TryWrite(ref ReadOnlyMemory<byte> buffer, bool completeWrites, out ValueTask waiter)
    {
        waiter = default;
        lock (_lock)
        {
            if (_write.Error is not null)
            {
                throw _write.CopyOfError();
            }

            if (_finRequested)
            {
                throw new InvalidOperationException("Writes were already completed on this stream.");
            }

            var n = _send.Append(buffer.Span, SendBufferLimit);
            buffer = buffer[n..];
            if (buffer.IsEmpty)
            {
                _finRequested = completeWrites;
                return true;
            }

            waiter = _write.Waiter.Arm();
            return false;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteSlowAsync(ReadOnlyMemory<byte> buffer, bool completeWrites, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (TryWrite(ref buffer, completeWrites, out var waiter))
            {
                _connection.SignalData(this);
                return;
            }

            _connection.SignalData(this);
            try
            {
                using (_write.Waiter.RegisterCancellation(cancellationToken))
                {
                    await waiter.ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Abort(AbortDirection.Write, TransportDefaults.StreamAbortCode);
                throw;
            }
        }
    }

    // ---- Loop side -------------------------------------------------------------------------------------------

    /// <summary>Whether the loop has stream data or a FIN to hand to ngtcp2.</summary>
    internal bool HasPendingSend()
    {
        lock (_lock)
        {
            return _write.Error is null && (SentOffset < _send.Appended || (_finRequested && !FinSent));
        }
    }

    /// <summary>Loop: all written data (and FIN, if requested) is sent and acknowledged, or the write side is gone.</summary>
    internal bool IsSendDrained()
    {
        lock (_lock)
        {
            return _write.Error is not null || (SentOffset == _send.Appended && _send.Acknowledged == _send.Appended && (!_finRequested || FinSent));
        }
    }

    /// <summary>Prepares vectors from the send cursor; <paramref name="fin"/> is set when they end the stream.</summary>
    internal unsafe int PrepareSend(Native.ngtcp2_vec* vecs, int maxVecs, int maxBytes, out int bytes, out bool fin)
    {
        lock (_lock)
        {
            var count = _send.GetVecs(SentOffset, maxBytes, vecs, maxVecs, out bytes);
            fin = _finRequested && !FinSent && SentOffset + bytes == _send.Appended;
            return count;
        }
    }

    internal void OnSent(long bytes, bool finIncluded)
    {
        SentOffset += bytes;
        if (finIncluded)
        {
            FinSent = true;
        }
    }

    internal void OnAcked(long offset, long length)
    {
        lock (_lock)
        {
            _send.Acknowledge(offset + length);
            if (_send.Buffered <= SendBufferLimit / 2)
            {
                // Hysteresis: a blocked writer resumes once half the buffer is free, not on every ACK.
                _write.Waiter.Signal();
            }

            if (_finRequested && FinSent && _send.Acknowledged == _send.Appended)
            {
                _write.Complete();
            }
        }
    }

    /// <summary>Data from ngtcp2 (in order). Returns bytes to credit back at once (discarded because reads were aborted).</summary>
    internal long OnReceived(ReadOnlySpan<byte> data, bool fin)
    {
        lock (_lock)
        {
            if (_read.Error is not null)
            {
                return data.Length;
            }

            _receive.Append(data);
            if (fin)
            {
                _finReceived = true;
            }

            _read.Waiter.Signal();
            return 0;
        }
    }

    internal void OnReset(long code)
    {
        lock (_lock)
        {
            if (_read.FailIfOpen(new TransportException(TransportError.StreamAborted, "The peer reset the stream.", code)))
            {
                _receive.Dispose();
            }
        }
    }

    /// <summary>Loop: ngtcp2 refused stream data because the write side is shut (the peer sent STOP_SENDING).</summary>
    internal void OnWriteShutByPeer()
    {
        lock (_lock)
        {
            _write.FailIfOpen(new TransportException(TransportError.StreamAborted, "The peer asked to stop sending (STOP_SENDING); its code is known once the stream closes."));
        }
    }

    internal void OnNativeClosed(long? code)
    {
        NativeClosed = true;
        lock (_lock)
        {
            if (CanWrite && !_write.IsClosed)
            {
                if (_finRequested && FinSent && _write.Error is null)
                {
                    _write.Complete();
                }
                else
                {
                    _write.Fail(_write.Error ?? new TransportException(TransportError.StreamAborted, "The peer stopped the stream (STOP_SENDING).", code));
                }
            }
            else if (_write.Error is { Error: TransportError.StreamAborted, ApplicationErrorCode: null } && code is not null)
            {
                // The write side was found shut before the code was known; later writes report the code.
                _write.Error = new TransportException(TransportError.StreamAborted, "The peer stopped the stream (STOP_SENDING).", code);
            }

            _send.Dispose();
        }
    }

    internal void OnConnectionClosed(TransportException error)
    {
        lock (_lock)
        {
            if (!_write.IsClosed)
            {
                _write.Fail(error);
            }

            if (!_read.IsClosed && !_finReceived)
            {
                _read.Fail(error);
            }
            else
            {
                _read.Waiter.Signal();
            }

            _send.Dispose();
        }
    }
}
