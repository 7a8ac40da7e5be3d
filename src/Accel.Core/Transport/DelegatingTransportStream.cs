namespace Accel.Core.Transport;

/// <summary>
/// A stream that adds something to another one (counting, compression): whatever it does not override is the inner
/// stream's, so each such layer states only what it changes.
/// </summary>
public abstract class DelegatingTransportStream(ITransportStream inner) : ITransportStream
{
    /// <summary>The stream below this layer.</summary>
    public ITransportStream Inner { get; } = inner;

    public long Id => Inner.Id;

    public StreamDirection Direction => Inner.Direction;

    public bool CanRead => Inner.CanRead;

    public bool CanWrite => Inner.CanWrite;

    public byte Urgency
    {
        get => Inner.Urgency;
        set => Inner.Urgency = value;
    }

    public long UnacknowledgedBytes => Inner.UnacknowledgedBytes;

    public long AcknowledgedBytes => Inner.AcknowledgedBytes;

    public Task WritesClosed => Inner.WritesClosed;

    public Task ReadsClosed => Inner.ReadsClosed;

    public virtual ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => Inner.ReadAsync(buffer, cancellationToken);

    public virtual ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool completeWrites = false, CancellationToken cancellationToken = default)
        => Inner.WriteAsync(buffer, completeWrites, cancellationToken);

    public void CompleteWrites() => Inner.CompleteWrites();

    public void Abort(AbortDirection direction, long errorCode) => Inner.Abort(direction, errorCode);

    public virtual ValueTask DisposeAsync() => Inner.DisposeAsync();
}
