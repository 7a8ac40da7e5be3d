using Accel.Core.Transport;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// ngtcp2's connection-level credit (<see cref="TransportOptions.ConnectionReceiveBuffer"/>): readers that stop must hold
/// their own streams' windows, not the window every stream shares, up to the buffer; past it (or with the buffer off)
/// credit comes back only as data is read. Four streams nobody reads, each filled to its 128 KiB window, hold 512 KiB:
/// twice the connection window of 256 KiB.
/// </summary>
public sealed class Ngtcp2ReceiveBufferTests : TransportConformance<Ngtcp2UnderTest>
{
    private const int StreamWindow = 128 * 1024;
    private const int ConnectionWindow = 256 * 1024;
    private const int Stalled = 4;

    [Theory]
    [InlineData(4L * 1024 * 1024, true)]
    [InlineData(0L, false)]
    [InlineData(128L * 1024, false)]
    public async Task ReadersThatStop_PastTheConnectionWindow_AnotherStreamFlowsOnlyWithinTheBuffer(long buffer, bool flows)
    {
        RequireEngine();
        await using var pair = await ConnectAsync(s => s with
        {
            StreamReceiveWindow = StreamWindow,
            MaxStreamReceiveWindow = StreamWindow,
            ConnectionReceiveWindow = ConnectionWindow,
            MaxConnectionReceiveWindow = ConnectionWindow,
            ConnectionReceiveBuffer = buffer,
        });
        var chunk = new byte[StreamWindow];
        new Random(5).NextBytes(chunk);
        for (var i = 0; i < Stalled; i++)
        {
            var stalled = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
            await stalled.WriteAsync(chunk, false, Ct).AsTask().WaitAsync(Timeout, Ct);
        }

        // Until the server has taken in all the credit it can give the stopped readers: their windows, or the
        // connection window plus the buffer, whichever is less (a little less: packets carry headers too).
        var held = Math.Min(Stalled * StreamWindow, ConnectionWindow + buffer);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (((IConnectionStatistics)pair.Server).GetStatistics().BytesReceived < held - (64 * 1024))
        {
            Assert.True(watch.Elapsed < Timeout, $"the server received {((IConnectionStatistics)pair.Server).GetStatistics().BytesReceived} of {held} bytes");
            await Task.Delay(10, Ct);
        }

        // The server learns of a stream with its first bytes: the stopped ones that got none yet, and the new one,
        // come only as credit allows. Stopped streams are read only once the gate opens.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var drains = new List<Task>();
        var live = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        await live.WriteAsync(chunk.AsMemory(0, 64 * 1024), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        var read = Task.Run(async () =>
        {
            for (var i = 0; i < Stalled; i++)
            {
                var stopped = await pair.Server.AcceptStreamAsync(Ct);
                lock (drains)
                {
                    drains.Add(DrainAsync(stopped, gate.Task));
                }
            }

            return await ReadAllAsync(await pair.Server.AcceptStreamAsync(Ct));
        }, Ct);
        if (flows)
        {
            Assert.Equal(64 * 1024, (await read.WaitAsync(Timeout, Ct)).Length);
            return;
        }

        // Blocked behind the stopped readers' credit; their reading again frees it.
        var winner = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(2), Ct));
        Assert.NotSame(read, winner);
        gate.SetResult();
        Assert.Equal(64 * 1024, (await read.WaitAsync(Timeout, Ct)).Length);
        Task[] all;
        lock (drains)
        {
            all = [.. drains];
        }

        await Task.WhenAll(all).WaitAsync(Timeout, Ct);
    }

    private static async Task DrainAsync(ITransportStream stream, Task gate)
    {
        await gate;
        var sink = new byte[16 * 1024];
        var taken = 0;
        while (taken < StreamWindow)
        {
            taken += await stream.ReadAsync(sink, Ct);
        }
    }
}
