using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Relay;

/// <summary>
/// The one writer of one destination (a local socket or an edge-to-edge stream). The loop that relays toward it owns
/// it for a batch (<see cref="EnterAsync"/> … <see cref="ExitAsync"/>) and writes through it as an
/// <see cref="IBufferWriter{T}"/>; messages the edge sends on its own (<see cref="IMessageInjector"/>) wait in a
/// bounded queue and are written between relayed messages, never inside a body that is streaming
/// (<see cref="MidMessage"/>): by the owner before its next message, or by <see cref="RunInjectionsAsync"/> when the
/// owner is idle.
/// </summary>
internal sealed class LegWriter : IBufferWriter<byte>, IMessageInjector, IInjectionBacklog
{
    /// <summary>
    /// Injected bytes waiting at most; far above what ACK windows and motion rules allow, and above the display canvas's
    /// refresh pieces (it stops at 24 KiB waiting; a piece is at most 16384 pixels).
    /// </summary>
    public const int InjectionCapacity = 256 * 1024;

    private readonly PipeWriter _pipe;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _lock = new();
    private readonly ArrayBufferWriter<byte> _pending = new(256);
    private readonly SpiceMessageWriter _injectWriter = new(miniHeader: true);
    private readonly Channel<byte> _wake = Channel.CreateBounded<byte>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private volatile int _pendingBytes;
    private bool _completed;

    public LegWriter(PipeWriter pipe) => _pipe = pipe;

    /// <summary>Injected bytes not written yet.</summary>
    public int PendingBytes => _pendingBytes;

    /// <summary>True while the owner streams a body: injected messages must wait for its end.</summary>
    public bool MidMessage { get; set; }

    /// <summary>Relayed bytes written since <see cref="TakeWritten"/> (injected ones are not counted).</summary>
    private long _written;

    public long TakeWritten()
    {
        var n = _written;
        _written = 0;
        return n;
    }

    public ValueTask EnterAsync(CancellationToken token) => _gate.Wait(0, CancellationToken.None) ? default : new(_gate.WaitAsync(token));

    /// <summary>Flushes what the batch wrote (and injected messages, at a message boundary), then releases the writer.</summary>
    public ValueTask ExitAsync(CancellationToken token)
    {
        try
        {
            DrainIfDue();
            if (_pipe.UnflushedBytes == 0)
            {
                _gate.Release();
                return default;
            }
        }
        catch
        {
            _gate.Release();
            throw;
        }

        var flush = _pipe.FlushAsync(token);
        if (flush.IsCompletedSuccessfully)
        {
            _gate.Release();
            return default;
        }

        return AwaitFlushAsync(flush);
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AwaitFlushAsync(ValueTask<FlushResult> flush)
    {
        try
        {
            await flush.ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Advance(int count)
    {
        _pipe.Advance(count);
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        DrainIfDue();
        return _pipe.GetMemory(sizeHint);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        DrainIfDue();
        return _pipe.GetSpan(sizeHint);
    }

    public void Inject<TState>(TState state, InjectWriter<TState> write)
    {
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }

            write(state, _injectWriter, _pending);
            if (_pending.WrittenCount > InjectionCapacity)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"{_pending.WrittenCount} bytes of local answers wait for a peer that does not read them");
            }

            _pendingBytes = _pending.WrittenCount;
        }

        _wake.Writer.TryWrite(0);
    }

    /// <summary>No more writes: the destination is finished; later injections are dropped.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            _completed = true;
            _pending.ResetWrittenCount();
            _pendingBytes = 0;
        }
    }

    /// <summary>Writes injected messages while the owner is idle, until <paramref name="token"/> is cancelled.</summary>
    public async Task RunInjectionsAsync(CancellationToken token)
    {
        try
        {
            while (await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                if (_pendingBytes == 0)
                {
                    continue;
                }

                await EnterAsync(token).ConfigureAwait(false);
                await ExitAsync(token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            // The destination died; the loop relaying toward it sees the same failure and ends the channel.
        }
    }

    private void DrainIfDue()
    {
        if (_pendingBytes == 0 || MidMessage)
        {
            return;
        }

        lock (_lock)
        {
            if (_pending.WrittenCount > 0)
            {
                _pipe.Write(_pending.WrittenSpan);
                _pending.ResetWrittenCount();
                _pendingBytes = 0;
            }
        }
    }
}
