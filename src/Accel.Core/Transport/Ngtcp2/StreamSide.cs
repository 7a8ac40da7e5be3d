namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// One direction of a stream (its read side or its write side): the error that ended it, the task that completes
/// when it is finished, and the waiter of its one pending call. Used under the stream's lock.
/// </summary>
internal sealed class StreamSide(object gate)
{
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Why this side ended, when it failed; later calls rethrow a copy.</summary>
    public TransportException? Error { get; set; }

    public StreamWaiter Waiter { get; } = new(gate);

    public Task Closed => _closed.Task;

    public bool IsClosed => _closed.Task.IsCompleted;

    /// <summary>The side finished cleanly (FIN consumed, or everything acknowledged after FIN).</summary>
    public void Complete() => _closed.TrySetResult();

    /// <summary>Fails the side (<see cref="Fail"/>) unless it already ended, cleanly or not; true when it did fail it.</summary>
    public bool FailIfOpen(TransportException error)
    {
        if (Error is not null || IsClosed)
        {
            return false;
        }

        Fail(error);
        return true;
    }

    /// <summary>A copy of <see cref="Error"/> to throw from a later call (the original stays the inner exception).</summary>
    public TransportException CopyOfError() => new(Error!.Error, Error.Message, Error.ApplicationErrorCode, Error);

    /// <summary>
    /// The side failed: <see cref="Error"/> keeps the first error, <see cref="Closed"/> faults with
    /// <paramref name="error"/> (observed) and a pending call wakes.
    /// </summary>
    public void Fail(TransportException error)
    {
        Error ??= error;
        if (_closed.TrySetException(error))
        {
            _ = _closed.Task.Exception;
        }

        Waiter.Signal();
    }
}
