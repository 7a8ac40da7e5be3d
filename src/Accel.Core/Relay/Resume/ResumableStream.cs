using Accel.Core.Transport;

namespace Accel.Core.Relay.Resume;

/// <summary>
/// A channel's stream that outlives its edge connection. It counts the bytes it read and wrote, and keeps what it wrote
/// until the engine says the peer has it (<see cref="ITransportStream.UnacknowledgedBytes"/>; on an engine without
/// <see cref="TransportCapabilities.AcknowledgedBytes"/>, <see cref="RetainedBytes.UnconfirmedReserve"/> more). When the connection is
/// lost, reads and writes wait (the SPICE legs stay open) instead of failing; a new stream on a new connection is then
/// attached with <see cref="ResumeAsync"/>, which replays what the peer had not read, so the channel goes on with no byte
/// lost, duplicated or reordered. Nobody resumes it within the grace period: it fails with <see cref="ResumeExpiredException"/>.
/// </summary>
/// <remarks>
/// Why the peer's acknowledgement is enough: bytes the peer's engine acknowledged sit in its receive buffer, and its
/// reader takes them before it sees the connection's failure (the engine delivers buffered data first). A side is
/// resumed only after its reader drained the old stream (<see cref="WaitDrainedAsync"/>), so the offset it reports
/// covers everything acknowledged to the sender.
/// </remarks>
internal sealed class ResumableStream : ITransportStream
{
    /// <summary>Written bytes kept while the connection is down, at most; a writer then waits for the resume.</summary>
    public const long MaxRetainedWhileDown = 8 * 1024 * 1024;

    private readonly object _lock = new();
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly RetainedBytes _retained = new();
    private readonly TimeSpan _grace;
    private readonly TimeProvider _time;
    private readonly Action<ResumableStream>? _onSuspended;
    private ITransportStream _inner;
    private int _generation;
    private long _innerWriteBase;
    private long _readOffset;
    private bool _suspended;
    private bool _resuming;
    private bool _finPending;
    private bool _finRead;
    private ReadOnlyMemory<byte> _prefix;
    private TaskCompletionSource _resumed = NewSignal();
    private TaskCompletionSource _drained = NewSignal();
    private ITimer? _graceTimer;
    private Exception? _failure;
    private TransportException? _loss;
    private int _disposed;

    /// <param name="inner">The stream as opened or accepted, its edge request already exchanged.</param>
    /// <param name="token">The channel's resume token.</param>
    /// <param name="readAlready">Channel bytes read from <paramref name="inner"/> before this wrapper (pipelined with the request or answer).</param>
    /// <param name="writtenAlready">Channel bytes written to <paramref name="inner"/> before this wrapper (sent with the request).</param>
    public ResumableStream(ITransportStream inner, ReadOnlyMemory<byte> token, long readAlready, ReadOnlySpan<byte> writtenAlready, TimeSpan grace, TimeProvider time, Action<ResumableStream>? onSuspended = null)
    {
        _inner = inner;
        Token = token;
        _readOffset = readAlready;
        _retained.Append(writtenAlready);
        _grace = grace;
        _time = time;
        _onSuspended = onSuspended;
    }

    public ReadOnlyMemory<byte> Token { get; }

    /// <summary>Channel bytes this side has read (handed to the relay).</summary>
    public long ReadOffset => Interlocked.Read(ref _readOffset);

    /// <summary>True while the connection is lost and no new stream is attached.</summary>
    public bool IsSuspended
    {
        get
        {
            lock (_lock)
            {
                return _suspended;
            }
        }
    }

    /// <summary>Why the stream failed for good (grace over, resume refused, aborted, disposed); null while it lives.</summary>
    public Exception? Failure
    {
        get
        {
            lock (_lock)
            {
                return _failure;
            }
        }
    }

    /// <summary>Why the connection was lost, while suspended.</summary>
    public TransportException? Loss => _loss;

    /// <summary>Cancelled when the stream fails for good (grace over, resume refused, aborted or disposed).</summary>
    public CancellationToken FailedToken => _failedSource.Token;

    private readonly CancellationTokenSource _failedSource = new();

    public long Id => _inner.Id;

    public StreamDirection Direction => _inner.Direction;

    public bool CanRead => _inner.CanRead;

    public bool CanWrite => _inner.CanWrite;

    public byte Urgency
    {
        get => _inner.Urgency;
        set => _inner.Urgency = value;
    }

    public long UnacknowledgedBytes => _inner.UnacknowledgedBytes;

    /// <summary>The connection and stream id carrying the channel now (the edge moves it on each resume): path statistics and datagrams follow it.</summary>
    public ChannelRoute? Route { get; init; }

    /// <summary>Acknowledged by the peer across connections: the current stream's count starts where the peer resumed reading.</summary>
    public long AcknowledgedBytes
    {
        get
        {
            lock (_lock)
            {
                return _innerWriteBase + _inner.AcknowledgedBytes;
            }
        }
    }

    public Task WritesClosed => _inner.WritesClosed;

    public Task ReadsClosed => _inner.ReadsClosed;

    public async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ITransportStream inner;
            int generation;
            lock (_lock)
            {
                if (!_prefix.IsEmpty)
                {
                    var n = Math.Min(buffer.Length, _prefix.Length);
                    _prefix[..n].CopyTo(buffer);
                    _prefix = _prefix[n..];
                    _readOffset += n;
                    return n;
                }

                inner = _inner;
                generation = _generation;
            }

            try
            {
                var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    lock (_lock)
                    {
                        _finRead = true;
                        _drained.TrySetResult();
                    }

                    return 0;
                }

                Interlocked.Add(ref _readOffset, n);
                return n;
            }
            catch (TransportException e) when (Suspendable(e, generation))
            {
                lock (_lock)
                {
                    if (generation == _generation)
                    {
                        _drained.TrySetResult();
                    }
                }

                await WaitResumedAsync(generation, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool completeWrites = false, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                ThrowIfFailed();
                if (!_suspended || _retained.Length + buffer.Length <= MaxRetainedWhileDown)
                {
                    break;
                }

                wait = _resumed.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ITransportStream inner;
            int generation;
            bool suspended;
            lock (_lock)
            {
                ThrowIfFailed();
                _retained.Append(buffer.Span);
                _finPending |= completeWrites;
                inner = _inner;
                generation = _generation;
                suspended = _suspended;
            }

            if (suspended)
            {
                return; // Retained: the resume replays it.
            }

            try
            {
                await inner.WriteAsync(buffer, completeWrites, cancellationToken).ConfigureAwait(false);
                Trim(inner, generation);
            }
            catch (TransportException e) when (Suspendable(e, generation))
            {
                // Retained already; the resume replays it.
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public void CompleteWrites()
    {
        lock (_lock)
        {
            _finPending = true;
            if (_suspended)
            {
                return;
            }
        }

        _inner.CompleteWrites();
    }

    public void Abort(AbortDirection direction, long errorCode)
    {
        Fail(new TransportException(TransportError.OperationAborted, "The channel was aborted locally.", errorCode));
        _inner.Abort(direction, errorCode);
    }

    /// <summary>
    /// Waits until this side's reader has taken everything the old stream still held (or the read side had ended), so
    /// <see cref="ReadOffset"/> is what the peer must replay from.
    /// </summary>
    public Task WaitDrainedAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _finRead ? Task.CompletedTask : _drained.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// The server side, when a resume arrives while it still believes the old connection alive: suspends now and aborts
    /// the old stream, so its reader drains it and stops.
    /// </summary>
    public void PrepareResume(long abortCode)
    {
        ITransportStream old;
        lock (_lock)
        {
            _resuming = true;
            old = _inner;
        }

        Suspend(new TransportException(TransportError.ConnectionAborted, "The client edge resumed the channel on a new connection."));
        old.Abort(AbortDirection.Both, abortCode);
    }

    /// <summary>
    /// Attaches <paramref name="next"/> (request and answer exchanged on it): replays what the peer has not read from
    /// <paramref name="peerReadOffset"/> on, then releases waiting reads and writes. <paramref name="prefix"/> holds
    /// channel bytes already read from <paramref name="next"/>. False (and the stream fails) when the peer asks for
    /// bytes no longer retained.
    /// </summary>
    public async Task<bool> ResumeAsync(ITransportStream next, long peerReadOffset, ReadOnlyMemory<byte> prefix, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        ITransportStream old;
        try
        {
            lock (_lock)
            {
                if (_failure is not null)
                {
                    return false;
                }

                if (peerReadOffset < _retained.Start || peerReadOffset > _retained.End)
                {
                    FailLocked(new TransportException(TransportError.ProtocolError, $"the peer resumes at byte {peerReadOffset}, but {_retained.Start}..{_retained.End} is retained"));
                    return false;
                }
            }

            next.Urgency = _inner.Urgency;
            foreach (var chunk in _retained.From(peerReadOffset))
            {
                await next.WriteAsync(chunk, false, cancellationToken).ConfigureAwait(false);
            }

            bool fin;
            lock (_lock)
            {
                old = _inner;
                _inner = next;
                _generation++;
                _innerWriteBase = peerReadOffset;
                _retained.TrimTo(peerReadOffset);
                _prefix = prefix;
                _suspended = false;
                _resuming = false;
                _loss = null;
                _drained = NewSignal();
                _graceTimer?.Dispose();
                _graceTimer = null;
                fin = _finPending;
                _resumed.TrySetResult();
                _resumed = NewSignal();
            }

            if (fin)
            {
                next.CompleteWrites();
            }
        }
        finally
        {
            _writeLock.Release();
        }

        await old.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>Ends the channel for good: waiting reads and writes fail with <paramref name="error"/>.</summary>
    public void Fail(Exception error)
    {
        lock (_lock)
        {
            FailLocked(error);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Fail(new ObjectDisposedException(nameof(ResumableStream)));
        ITransportStream inner;
        lock (_lock)
        {
            inner = _inner;
            _graceTimer?.Dispose();
        }

        await inner.DisposeAsync().ConfigureAwait(false);
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            _retained.Dispose();
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>A connection-level failure of the current stream (or any failure while resuming) suspends; others pass.</summary>
    private bool Suspendable(TransportException e, int generation)
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                return false;
            }

            if (generation != _generation)
            {
                return true; // A stale stream failed after the resume: go on with the new one.
            }

            if (!_resuming && e.Error is not (TransportError.ConnectionIdle or TransportError.ConnectionAborted or TransportError.ConnectionClosed or TransportError.ProtocolError or TransportError.InternalError))
            {
                return false;
            }
        }

        Suspend(e);
        return true;
    }

    private void Suspend(TransportException e)
    {
        bool first;
        lock (_lock)
        {
            first = !_suspended && _failure is null;
            if (first)
            {
                _suspended = true;
                _loss = e;
                _graceTimer = _time.CreateTimer(static s => ((ResumableStream)s!).Fail(new ResumeExpiredException(((ResumableStream)s!)._grace)), this, _grace, Timeout.InfiniteTimeSpan);
            }
        }

        if (first)
        {
            _onSuspended?.Invoke(this);
        }
    }

    private async Task WaitResumedAsync(int generation, CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            ThrowIfFailed();
            if (generation != _generation)
            {
                return;
            }

            wait = _resumed.Task;
        }

        await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private void Trim(ITransportStream inner, int generation)
    {
        var unacknowledged = inner.UnacknowledgedBytes;
        var reserve = RetainedBytes.ReserveFor(Route?.Current.Connection);
        lock (_lock)
        {
            if (generation == _generation && !_suspended)
            {
                // Everything written to this stream, less what its engine still waits to have acknowledged.
                _retained.TrimTo(_retained.End - unacknowledged - reserve);
            }
        }
    }

    private void FailLocked(Exception error)
    {
        if (_failure is not null)
        {
            return;
        }

        _failure = error;
        _graceTimer?.Dispose();
        _resumed.TrySetException(error);
        _ = _resumed.Task.Exception;
        _drained.TrySetResult();
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Cancel(), _failedSource, preferLocal: false);
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw failure as TransportException ?? new TransportException(TransportError.ConnectionAborted, failure.Message, null, failure);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The edge connection stayed lost for the whole grace period: the channel ends.</summary>
internal sealed class ResumeExpiredException(TimeSpan grace)
    : IOException($"the edge connection was not back within {grace.TotalSeconds:0} s (Limits:ResumeGrace)");
