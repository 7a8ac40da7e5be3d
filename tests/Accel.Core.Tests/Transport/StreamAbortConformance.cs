using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Transport;

/// <summary>Conformance, stream aborts and cancellation: RESET_STREAM, STOP_SENDING, cancelled reads and writes.</summary>
public abstract class StreamAbortConformance<TEngine> : TransportConformance<TEngine>
    where TEngine : IEngineUnderTest
{
    // ---- Aborts -------------------------------------------------------------------------------------------

    [Fact]
    public async Task Abort_Write_PeerReadFailsWithStreamAbortedAndTheCode()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync(new byte[1000], false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);

        stream.Abort(AbortDirection.Write, 0x42);

        var error = await Assert.ThrowsAsync<TransportException>(() => ReadAllAsync(peer));
        Assert.Equal(TransportError.StreamAborted, error.Error);
        Assert.Equal(0x42, error.ApplicationErrorCode);
        var local = await Assert.ThrowsAsync<TransportException>(() => stream.WriteAsync(new byte[1], false, Ct).AsTask());
        Assert.Equal(TransportError.OperationAborted, local.Error);
    }

    [Fact]
    public async Task Abort_Read_PeerWriteFailsWithStreamAbortedAndTheCode()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync(new byte[10], false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);

        // STOP_SENDING(0x77); this side still finishes its own direction normally.
        stream.Abort(AbortDirection.Read, 0x77);
        stream.CompleteWrites();
        Assert.Equal(10, (await ReadAllAsync(peer)).Length);

        var error = await Assert.ThrowsAsync<TransportException>(async () =>
        {
            var chunk = new byte[64 * 1024];
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < Timeout)
            {
                await peer.WriteAsync(chunk, false, Ct).AsTask().WaitAsync(Timeout, Ct);
                await Task.Delay(1, Ct);
            }
        });
        Assert.Equal(TransportError.StreamAborted, error.Error);
        Assert.Equal(0x77, error.ApplicationErrorCode);
        var writesClosed = await Assert.ThrowsAsync<TransportException>(() => peer.WritesClosed.WaitAsync(Timeout, Ct));
        Assert.Equal(TransportError.StreamAborted, writesClosed.Error);
    }

    [Fact]
    public async Task DisposeAsync_WhileThePeerWrites_StopsItWithTheSeamsDefaultCode()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync(new byte[10], false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);

        // Disposing without reading to FIN sends STOP_SENDING with the default code (and FIN for our direction).
        await stream.DisposeAsync();
        Assert.Equal(10, (await ReadAllAsync(peer)).Length);

        var error = await Assert.ThrowsAsync<TransportException>(async () =>
        {
            var chunk = new byte[64 * 1024];
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < Timeout)
            {
                await peer.WriteAsync(chunk, false, Ct).AsTask().WaitAsync(Timeout, Ct);
                await Task.Delay(1, Ct);
            }
        });
        Assert.Equal(TransportError.StreamAborted, error.Error);
        var writesClosed = await Assert.ThrowsAsync<TransportException>(() => peer.WritesClosed.WaitAsync(Timeout, Ct));
        Assert.Equal(TransportDefaults.StreamAbortCode, writesClosed.ApplicationErrorCode);
    }

    [Fact]
    public async Task ReadAsync_CancelledWhileWaiting_ThrowsAndAbortsTheReadSide()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("x"u8.ToArray(), false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        var buffer = new byte[16];
        Assert.Equal(1, await peer.ReadAsync(buffer, Ct).AsTask().WaitAsync(Timeout, Ct));

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var pending = peer.ReadAsync(buffer, cts.Token).AsTask();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending.WaitAsync(Timeout, Ct));
        var after = await Assert.ThrowsAsync<TransportException>(() => peer.ReadAsync(buffer, Ct).AsTask().WaitAsync(Timeout, Ct));
        Assert.Equal(TransportError.OperationAborted, after.Error);
    }

    [Fact]
    public async Task WriteAsync_CancelledWhileBlocked_ThrowsAndResetsTheStream()
    {
        RequireEngine();
        const int window = 64 * 1024;
        await using var pair = await ConnectAsync(s => s with { StreamReceiveWindow = window, MaxStreamReceiveWindow = window });
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        var chunk = new byte[1024 * 1024];

        // Fill until a write blocks (nobody reads), then cancel it.
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task write;
        while (true)
        {
            write = stream.WriteAsync(chunk, false, cts.Token).AsTask();
            if (await Task.WhenAny(write, Task.Delay(TimeSpan.FromMilliseconds(500), Ct)) != write)
            {
                break;
            }
        }

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => write.WaitAsync(Timeout, Ct));
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        var error = await Assert.ThrowsAsync<TransportException>(() => ReadAllAsync(peer));
        Assert.Equal(TransportError.StreamAborted, error.Error);
    }
}
