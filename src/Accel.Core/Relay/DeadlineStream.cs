using System.Runtime.CompilerServices;

namespace Accel.Core.Relay;

/// <summary>A local reader took no data within the stall timeout.</summary>
internal sealed class StalledReaderException(TimeSpan timeout)
    : IOException($"the local reader took no data for {timeout.TotalSeconds:0.#} s (Limits:StallTimeout)")
{
    public TimeSpan Timeout { get; } = timeout;
}

/// <summary>
/// A local leg's stream with a write deadline: a write that the reader does not take within the stall timeout is
/// cancelled and fails with <see cref="StalledReaderException"/>, which closes this channel only. One reusable
/// deadline source per leg (writes are serialised by the leg's one writer), so a write allocates nothing.
/// </summary>
internal sealed class DeadlineStream(Stream inner, TimeSpan timeout) : Stream
{
    private CancellationTokenSource _deadline = new();

    public override bool CanRead => inner.CanRead;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_deadline.TryReset())
        {
            _deadline.Dispose();
            _deadline = new CancellationTokenSource();
        }

        var deadline = _deadline;
        using var caller = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), deadline);
        deadline.CancelAfter(timeout);
        try
        {
            await inner.WriteAsync(buffer, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new StalledReaderException(timeout);
        }
        finally
        {
            deadline.CancelAfter(System.Threading.Timeout.Infinite);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _deadline.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        _deadline.Dispose();
        await inner.DisposeAsync().ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The link phase did not end within its deadline.</summary>
internal sealed class LinkTimeoutException(TimeSpan timeout)
    : IOException($"the SPICE link phase did not end within {timeout.TotalSeconds:0.#} s (Limits:LinkTimeout)");
