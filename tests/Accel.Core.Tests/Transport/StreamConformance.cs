using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Transport;

/// <summary>Conformance, streams: data integrity, many streams, congestion controllers, flow control, stream limits.</summary>
public abstract class StreamConformance<TEngine> : TransportConformance<TEngine>
    where TEngine : IEngineUnderTest
{
    // ---- Streams ------------------------------------------------------------------------------------------

    [Fact]
    public async Task AcceptedStream_StartsWithTheSeamsDefaultUrgency_ThenTakesTheOneSet()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, Urgent, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("x"u8.ToArray(), false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);

        Assert.Equal(Urgent, stream.Urgency);
        Assert.Equal(TransportDefaults.AcceptedStreamUrgency, peer.Urgency);
        Assert.Equal(StreamUrgency.Default, peer.Urgency);
        peer.Urgency = Other;
        Assert.Equal(Other, peer.Urgency);
    }

    [Fact]
    public async Task Urgency_OutsideZeroToSeven_IsRefusedOnOpenAndSet()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Lowest + 1, Ct).AsTask());
        await using var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Lowest, Ct).AsTask().WaitAsync(Timeout, Ct);

        Assert.Throws<ArgumentOutOfRangeException>(() => stream.Urgency = StreamUrgency.Lowest + 1);
        Assert.Equal(StreamUrgency.Lowest, stream.Urgency);
    }

    [Fact]
    public async Task Stream_SmallEcho_RoundTrips()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("hello"u8.ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);

        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        var received = await ReadAllAsync(peer);
        await peer.WriteAsync(received.Reverse().ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        var echoed = await ReadAllAsync(stream);

        Assert.Equal("hello"u8.ToArray(), received);
        Assert.Equal("olleh"u8.ToArray(), echoed);
        await stream.WritesClosed.WaitAsync(Timeout, Ct);
        await peer.ReadsClosed.WaitAsync(Timeout, Ct);
    }

    [Fact]
    public async Task Stream_100MegabytesEachWay_ArrivesIntact()
    {
        RequireEngine();
        const long size = 100L * 1024 * 1024;
        await using var pair = await ConnectAsync();
        var up = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        var down = await pair.Server.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);

        var upWrite = Task.Run(() => WriteRandomAsync(up, size, 1), Ct);
        var downWrite = Task.Run(() => WriteRandomAsync(down, size, 2), Ct);
        var upRead = Task.Run(async () => await ReadHashAsync(await pair.Server.AcceptStreamAsync(Ct)), Ct);
        var downRead = Task.Run(async () => await ReadHashAsync(await pair.Client.AcceptStreamAsync(Ct)), Ct);

        var limit = TimeSpan.FromSeconds(90);
        var (upLength, upHash) = await upRead.WaitAsync(limit, Ct);
        var (downLength, downHash) = await downRead.WaitAsync(limit, Ct);
        Assert.Equal(size, upLength);
        Assert.Equal(size, downLength);
        Assert.Equal(await upWrite.WaitAsync(Timeout, Ct), upHash);
        Assert.Equal(await downWrite.WaitAsync(Timeout, Ct), downHash);
    }

    [Fact]
    public async Task Streams_200BidirectionalAnd200UnidirectionalOpenAtOnce_EachCarriesItsOwnData()
    {
        RequireEngine();
        const int count = 200;
        await using var pair = await ConnectAsync(s => s with { MaxInboundBidirectionalStreams = count, MaxInboundUnidirectionalStreams = count });

        // Open all streams before any finishes; each carries data derived from its index.
        var bidi = new ITransportStream[count];
        var uni = new ITransportStream[count];
        for (var i = 0; i < count; i++)
        {
            bidi[i] = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, Other, Ct).AsTask().WaitAsync(Timeout, Ct);
            uni[i] = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Other, Ct).AsTask().WaitAsync(Timeout, Ct);
            await bidi[i].WriteAsync(Payload("bidi", i), false, Ct).AsTask().WaitAsync(Timeout, Ct);
            await uni[i].WriteAsync(Payload("uni", i), false, Ct).AsTask().WaitAsync(Timeout, Ct);
        }

        var serverSide = Task.Run(async () =>
        {
            var seen = new List<Task<string>>();
            for (var i = 0; i < 2 * count; i++)
            {
                var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
                seen.Add(Task.Run(async () =>
                {
                    var data = await ReadAllAsync(peer);
                    if (peer.CanWrite)
                    {
                        // Echo the SHA-256 so the client checks the server saw exactly its bytes.
                        await peer.WriteAsync(SHA256.HashData(data), true, Ct).AsTask().WaitAsync(Timeout, Ct);
                    }

                    return System.Text.Encoding.ASCII.GetString(data, 0, data.Length);
                }, Ct));
            }

            return await Task.WhenAll(seen);
        }, Ct);

        for (var i = 0; i < count; i++)
        {
            await bidi[i].WriteAsync(ReadOnlyMemory<byte>.Empty, true, Ct).AsTask().WaitAsync(Timeout, Ct);
            uni[i].CompleteWrites();
        }

        for (var i = 0; i < count; i++)
        {
            var echoed = await ReadAllAsync(bidi[i]);
            Assert.Equal(SHA256.HashData(Payload("bidi", i)), echoed);
        }

        var received = await serverSide.WaitAsync(Timeout, Ct);
        var expected = Enumerable.Range(0, count).SelectMany(i => new[] { System.Text.Encoding.ASCII.GetString(Payload("bidi", i)), System.Text.Encoding.ASCII.GetString(Payload("uni", i)) });
        Assert.Equal(expected.Order(), received.Order());
    }

    private static byte[] Payload(string kind, int index)
    {
        var text = $"{kind}-{index:D4}-" + new string((char)('a' + (index % 26)), 1000 + index);
        return System.Text.Encoding.ASCII.GetBytes(text);
    }

    [Theory]
    [InlineData(CongestionControlAlgorithm.Bbr)]
    [InlineData(CongestionControlAlgorithm.Cubic)]
    [InlineData(CongestionControlAlgorithm.Reno)]
    public async Task Stream_EachCongestionController_TransfersIntact(CongestionControlAlgorithm algorithm)
    {
        RequireEngine();
        if (!Engine.Runs(algorithm))
        {
            Assert.Skip(Engine.Name + " has no " + algorithm + " congestion controller");
        }

        await using var pair = await ConnectAsync(s => s with { CongestionControl = algorithm }, c => c with { CongestionControl = algorithm });
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        var reader = Task.Run(async () => await ReadHashAsync(await pair.Server.AcceptStreamAsync(Ct)), Ct);

        var sent = await WriteRandomAsync(stream, 8 * 1024 * 1024, (int)algorithm);

        var (length, hash) = await reader.WaitAsync(Timeout, Ct);
        Assert.Equal(8 * 1024 * 1024, length);
        Assert.Equal(sent, hash);
    }

    [Fact]
    public async Task FlowControl_ReaderStalls_WriterBlocksWithBoundedBuffering()
    {
        RequireEngine();
        const int window = 256 * 1024;
        await using var pair = await ConnectAsync(s => s with { StreamReceiveWindow = window, MaxStreamReceiveWindow = window });
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        var chunk = new byte[64 * 1024];
        new Random(4).NextBytes(chunk);

        // Nobody reads on the server: writes must eventually stop completing.
        long written = 0;
        while (true)
        {
            var write = stream.WriteAsync(chunk, false, Ct).AsTask();
            var winner = await Task.WhenAny(write, Task.Delay(TimeSpan.FromSeconds(1), Ct));
            if (winner != write)
            {
                // Blocked: the engine holds at most the peer's window plus its own bounded send buffer.
                Assert.InRange(written, window, 16L * 1024 * 1024);
                var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
                var drain = Task.Run(() => ReadHashAsync(peer), Ct);
                await write.WaitAsync(Timeout, Ct);
                written += chunk.Length;
                stream.CompleteWrites();
                var (length, _) = await drain.WaitAsync(Timeout, Ct);
                Assert.Equal(written, length);
                return;
            }

            written += chunk.Length;
            Assert.True(written < 256L * 1024 * 1024, "writes never blocked: no backpressure");
        }
    }

    [Fact]
    public async Task OpenStream_PeerLimitReached_WaitsUntilAStreamCloses()
    {
        RequireEngine();
        await using var pair = await ConnectAsync(s => s with { MaxInboundBidirectionalStreams = 2 });
        var first = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask().WaitAsync(Timeout, Ct);
        var second = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask().WaitAsync(Timeout, Ct);
        var third = pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Default, Ct).AsTask();
        await second.WriteAsync("2"u8.ToArray(), false, Ct).AsTask().WaitAsync(Timeout, Ct);

        // The third waits: the server allows two.
        var winner = await Task.WhenAny(third, Task.Delay(TimeSpan.FromMilliseconds(300), Ct));
        Assert.NotSame(third, winner);

        // Finish the first stream in both directions; the server then grants one more.
        await first.WriteAsync("1"u8.ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        if (peer.Id != first.Id)
        {
            // The second stream carried data first, so the server may see it first.
            peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        }

        Assert.Equal(first.Id, peer.Id);
        Assert.Equal("1"u8.ToArray(), await ReadAllAsync(peer));
        await peer.WriteAsync(ReadOnlyMemory<byte>.Empty, true, Ct).AsTask().WaitAsync(Timeout, Ct);
        Assert.Empty(await ReadAllAsync(first));

        var opened = await third.WaitAsync(Timeout, Ct);
        Assert.NotEqual(first.Id, opened.Id);
        Assert.NotEqual(second.Id, opened.Id);
    }
}
