using Accel.Core.Edges;
using System.Buffers;
using System.Runtime.CompilerServices;
using Accel.Core.Relay;
using Accel.Core.Transport;

namespace Accel.Edge.Status;

/// <summary>
/// A relayed stream as /status sees it: which backend and channel its edge request named (the first bytes written
/// at the client edge, read at the server edge), when it opened and how many bytes went each way.
/// </summary>
internal sealed class ObservedStream(ITransportStream inner, bool requestIsWritten, ObservedConnection owner) : DelegatingTransportStream(inner)
{
    private byte[]? _head = new byte[EdgeRequest.MaxLength];
    private int _headLength;
    private long _bytesRead;
    private long _bytesWritten;

    public DateTime Since { get; } = DateTime.UtcNow;

    /// <summary>The edge request at the start of the stream, once seen.</summary>
    public EdgeRequest? Request { get; private set; }

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var pending = Inner.ReadAsync(buffer, cancellationToken);
        if (pending.IsCompletedSuccessfully)
        {
            var n = pending.Result;
            Count(buffer.Span[..n]);
            return new ValueTask<int>(n);
        }

        return AwaitReadAsync(pending, buffer);
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool completeWrites = false, CancellationToken cancellationToken = default)
    {
        Interlocked.Add(ref _bytesWritten, buffer.Length);
        if (requestIsWritten && _head is not null && buffer.Length > 0)
        {
            See(buffer.Span);
        }

        return Inner.WriteAsync(buffer, completeWrites, cancellationToken);
    }

    public override ValueTask DisposeAsync()
    {
        owner.Remove(this);
        return Inner.DisposeAsync();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<int> AwaitReadAsync(ValueTask<int> pending, Memory<byte> buffer)
    {
        var n = await pending.ConfigureAwait(false);
        Count(buffer.Span[..n]);
        return n;
    }

    private void Count(ReadOnlySpan<byte> read)
    {
        Interlocked.Add(ref _bytesRead, read.Length);
        if (!requestIsWritten && _head is not null && read.Length > 0)
        {
            See(read);
        }
    }

    /// <summary>Collects the stream's first bytes until they hold a whole request (or cannot), then stops looking.</summary>
    private void See(ReadOnlySpan<byte> data)
    {
        var head = _head!;
        var take = Math.Min(data.Length, head.Length - _headLength);
        data[..take].CopyTo(head.AsSpan(_headLength));
        _headLength += take;
        if (EdgeRequest.TryParse(new ReadOnlySequence<byte>(head, 0, _headLength), out var request, out _, out var error))
        {
            Request = request;
            _head = null;
        }
        else if (error is not null || _headLength == head.Length)
        {
            _head = null;
        }
    }
}
