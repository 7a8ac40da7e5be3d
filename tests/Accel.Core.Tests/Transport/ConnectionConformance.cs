using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Transport;

/// <summary>Conformance, the connection: datagrams, close, idle timeout and keep-alive, statistics, priority.</summary>
public abstract class ConnectionConformance<TEngine> : TransportConformance<TEngine>
    where TEngine : IEngineUnderTest
{
    // ---- Datagrams ----------------------------------------------------------------------------------------

    [Fact]
    public async Task Datagram_SentBothWays_Arrives()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        // The engine's capability says what its connections are: the edges decide their fallback by it.
        var says = (Engine.Capabilities & TransportCapabilities.Datagrams) != 0;
        Assert.Equal(says, pair.Client is IDatagramConnection);
        Assert.Equal(says, pair.Server is IDatagramConnection);
        if (pair.Client is not IDatagramConnection client || pair.Server is not IDatagramConnection server)
        {
            Assert.Skip(Engine.Name + " has no DATAGRAM support");
            return;
        }

        Assert.True(client.MaxDatagramPayloadSize >= 1000, $"max datagram payload {client.MaxDatagramPayloadSize}");

        var buffer = new byte[2048];
        var toServer = server.ReceiveDatagramAsync(buffer, Ct).AsTask();
        Assert.True(client.TrySendDatagram("ping-datagram"u8));
        var n = await toServer.WaitAsync(Timeout, Ct);
        Assert.Equal("ping-datagram"u8.ToArray(), buffer.AsSpan(0, n).ToArray());

        var big = new byte[server.MaxDatagramPayloadSize];
        new Random(5).NextBytes(big);
        var toClient = client.ReceiveDatagramAsync(buffer, Ct).AsTask();
        Assert.True(server.TrySendDatagram(big));
        n = await toClient.WaitAsync(Timeout, Ct);
        Assert.Equal(big, buffer.AsSpan(0, n).ToArray());
        Assert.False(server.TrySendDatagram(new byte[server.MaxDatagramPayloadSize + 1]));
    }

    // ---- Close and liveness -------------------------------------------------------------------------------

    [Fact]
    public async Task IdleTimeout_NoTraffic_ClosesWithConnectionIdle()
    {
        RequireEngine();
        var idle = TimeSpan.FromSeconds(1);
        await using var pair = await ConnectAsync(
            s => s with { IdleTimeout = idle, KeepAliveInterval = TimeSpan.Zero },
            c => c with { IdleTimeout = idle, KeepAliveInterval = TimeSpan.Zero });
        var watch = Stopwatch.StartNew();

        var closed = await pair.Client.Closed.WaitAsync(Timeout, Ct);
        var elapsed = watch.Elapsed;

        Assert.Equal(TransportError.ConnectionIdle, closed.Error);
        Assert.InRange(elapsed, TimeSpan.FromMilliseconds(500), idle + TimeSpan.FromSeconds(2));
        Assert.Equal(TransportError.ConnectionIdle, (await pair.Server.Closed.WaitAsync(Timeout, Ct)).Error);
    }

    /// <summary>
    /// A stream opened on a connection that has ended fails at once: a request that reached the engine after its loop
    /// had drained its queue used to wait forever (a channel resuming right after a connection loss met it: issue #11).
    /// </summary>
    [Fact]
    public async Task OpenStream_AfterTheConnectionEnded_FailsAtOnce()
    {
        RequireEngine();
        var idle = TimeSpan.FromSeconds(1);
        await using var pair = await ConnectAsync(
            s => s with { IdleTimeout = idle, KeepAliveInterval = TimeSpan.Zero },
            c => c with { IdleTimeout = idle, KeepAliveInterval = TimeSpan.Zero });
        await pair.Client.Closed.WaitAsync(Timeout, Ct);

        var error = await Assert.ThrowsAsync<TransportException>(() => pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, Urgent, Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(5), Ct));
        Assert.Equal(TransportError.ConnectionIdle, error.Error);
    }

    [Fact]
    public async Task KeepAlive_IdleLongerThanTimeout_StaysOpen()
    {
        RequireEngine();
        var idle = TimeSpan.FromSeconds(1);
        await using var pair = await ConnectAsync(
            s => s with { IdleTimeout = idle, KeepAliveInterval = TimeSpan.FromMilliseconds(200) },
            c => c with { IdleTimeout = idle, KeepAliveInterval = TimeSpan.FromMilliseconds(200) });

        var winner = await Task.WhenAny(pair.Client.Closed, Task.Delay(idle * 3, Ct));

        Assert.NotSame(pair.Client.Closed, winner);
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, 0, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("alive"u8.ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        Assert.Equal("alive"u8.ToArray(), await ReadAllAsync(peer));
    }

    [Fact]
    public async Task PeerProcessKilled_Detected_WithinTheIdleTimeout()
    {
        RequireEngine();
        var idle = TimeSpan.FromSeconds(2);
        using var peer = await TransportPeerProcess.StartAsync(Engine.Name, EndpointIdentities.ComputeSpkiSha256(TestIdentities.Client.CertificatePem), idle, Ct);
        var options = new TransportClientOptions
        {
            RemoteEndPoint = new IPEndPoint(IPAddress.Loopback, peer.Port),
            Identity = TestIdentities.Client,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [peer.ServerPin] },
            IdleTimeout = idle,
            KeepAliveInterval = TimeSpan.FromMilliseconds(300),
        };
        await using var connection = await Engine.ConnectAsync(options, Ct).AsTask().WaitAsync(Timeout, Ct);
        var stream = await connection.OpenStreamAsync(StreamDirection.Bidirectional, 0, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("echo"u8.ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        Assert.Equal("echo"u8.ToArray(), await ReadAllAsync(stream));

        // QUIC's idle timeout is never under three PTOs (RFC 9000 §10.1): on a loaded machine the RTT samples of this
        // loopback connection vary enough to make that the larger one.
        var stats = connection.Capabilities.HasFlag(TransportCapabilities.CongestionStatistics) ? connection.Statistics()?.GetStatistics() : null;
        var pto = (stats?.SmoothedRtt ?? TimeSpan.Zero) + (4 * (stats?.RttVariance ?? TimeSpan.Zero)) + TimeSpan.FromMilliseconds(25);
        var effective = idle > 3 * pto ? idle : 3 * pto;
        peer.Kill();
        var watch = Stopwatch.StartNew();
        var closed = await connection.Closed.WaitAsync(Timeout, Ct);

        Assert.Equal(TransportError.ConnectionIdle, closed.Error);
        Assert.True(watch.Elapsed < effective + TimeSpan.FromSeconds(2), $"detected after {watch.Elapsed} (idle timeout {idle}, three PTOs {3 * pto})");
    }

    [Fact]
    public async Task CloseAsync_AfterLargeWrite_DeliversEverythingThenPeerSeesTheCode()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();

        await CloseAfterLargeWriteAsync(pair.Client, pair.Server, 9);

        Assert.Equal(TransportError.ConnectionClosed, (await pair.Client.Closed.WaitAsync(Timeout, Ct)).Error);
    }

    /// <summary>
    /// A read pending when this end disposes the connection fails as ConnectionClosed: the connection ended, not the
    /// stream (System.Net.Quic says "operation aborted"), and a resumable channel waits for its resume only on the former.
    /// </summary>
    [Fact]
    public async Task DisposeAsync_WithAReadPending_FailsItAsConnectionClosed()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, Urgent, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("hello"u8.ToArray(), false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var read = stream.ReadAsync(new byte[16], Ct).AsTask();

        await pair.Client.DisposeAsync().AsTask().WaitAsync(Timeout, Ct);

        var error = await Assert.ThrowsAsync<TransportException>(() => read.WaitAsync(Timeout, Ct));
        Assert.Equal(TransportError.ConnectionClosed, error.Error);
    }

    [Fact]
    public async Task Statistics_AfterTransfer_ReportRttWindowAndCounters()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        var reader = Task.Run(async () => await ReadHashAsync(await pair.Server.AcceptStreamAsync(Ct)), Ct);
        await WriteRandomAsync(stream, 1024 * 1024, 3);
        await reader.WaitAsync(Timeout, Ct);
        await stream.WritesClosed.WaitAsync(Timeout, Ct);

        Assert.True(pair.Client is IConnectionStatistics, Engine.Name + " connections have statistics");
        var stats = ((IConnectionStatistics)pair.Client).GetStatistics();

        Assert.True(stats.BytesSent >= 1024 * 1024, $"bytes sent {stats.BytesSent}");
        Assert.True(stats.PacketsSent > 700, $"packets sent {stats.PacketsSent}");
        Assert.True(stats.PacketsReceived > 0);
        if ((pair.Client.Capabilities & TransportCapabilities.CongestionStatistics) != 0)
        {
            Assert.NotNull(stats.SmoothedRtt);
            Assert.True(stats.SmoothedRtt > TimeSpan.Zero && stats.SmoothedRtt < TimeSpan.FromSeconds(1), $"srtt {stats.SmoothedRtt}");
            Assert.True(stats.CongestionWindow > 0);
        }

        if ((pair.Client.Capabilities & TransportCapabilities.LossStatistics) == 0)
        {
            Assert.Null(stats.PacketsLost);
        }

        if ((pair.Client.Capabilities & TransportCapabilities.DeliveryRate) == 0)
        {
            Assert.Null(stats.DeliveryRate);
        }
    }

    // ---- Priority -----------------------------------------------------------------------------------------

    [Fact]
    public async Task Priority_InputAfterSaturatedBulk_ArrivesBeforeTheBulkFinishes()
    {
        RequireEngine();
        if ((Engine.Capabilities & TransportCapabilities.StreamPriority) == 0)
        {
            Assert.Skip(Engine.Name + " does not schedule by priority");
        }

        const long bulkSize = 20L * 1024 * 1024;
        await using var pair = await ConnectAsync();
        var bulk = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        await bulk.WriteAsync(new byte[1], false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var bulkPeer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);

        long bulkReceived = 0;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bulkReader = Task.Run(() => ReadAllAsync(bulkPeer, n =>
        {
            if (Interlocked.Add(ref bulkReceived, n) > 1024 * 1024)
            {
                started.TrySetResult();
            }
        }), Ct);
        var bulkWriter = Task.Run(() => WriteRandomAsync(bulk, bulkSize - 1, 11), Ct);

        // Once the bulk stream is flowing (and its send buffer full), an input message is written.
        await started.Task.WaitAsync(Timeout, Ct);
        var input = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, Urgent, Ct).AsTask().WaitAsync(Timeout, Ct);
        var sentAt = Interlocked.Read(ref bulkReceived);
        var inFlight = Stopwatch.StartNew();
        await input.WriteAsync("key-press"u8.ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        var inputPeer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        var message = await ReadAllAsync(inputPeer);
        var bulkAtArrival = Interlocked.Read(ref bulkReceived);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Engine.Name}: input written after {sentAt} bulk bytes, read {inFlight.Elapsed.TotalMilliseconds:F1} ms later, after {bulkAtArrival - sentAt} more");
        Assert.Equal("key-press"u8.ToArray(), message);
        await bulkWriter.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.Equal(bulkSize, (await bulkReader.WaitAsync(TimeSpan.FromSeconds(60), Ct)).LongLength);
        Assert.True(bulkAtArrival < bulkSize * 9 / 10, $"input arrived after {bulkAtArrival} of {bulkSize} bulk bytes (written at {sentAt})");
    }
}
