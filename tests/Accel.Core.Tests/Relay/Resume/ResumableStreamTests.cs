using System.Net;
using Accel.Core.Relay.Resume;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Tests.Transport;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;

namespace Accel.Core.Tests.Relay.Resume;

/// <summary>
/// Two resumable streams over real connections of each engine, both writing megabytes while the connection is killed midway;
/// resumed on a second connection, each reader gets every byte once and in order.
/// </summary>
public sealed class ResumableStreamTests
{
    private const int Bytes = 6 * 1024 * 1024;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <remarks>
    /// On msquic the engine counts write completions, not acknowledgements: each stream keeps
    /// <see cref="RetainedBytes.UnconfirmedReserve"/> more (its route names the connection, as the edges' do).
    /// </remarks>
    [Theory]
    [InlineData("ngtcp2")]
    [InlineData("msquic")]
    public async Task ConnectionKilledMidTransfer_ResumedOnANewConnection_EveryByteOnceAndInOrder_BothWays(string engineName)
    {
        var engine = engineName == "ngtcp2" ? new Ngtcp2Engine() : MsQuicUnderTest.Create();
        if (!engine.IsSupported && engineName == "msquic" && !MsQuicUnderTest.MustRun)
        {
            Assert.Skip(engine.UnsupportedReason ?? "msquic is not supported here");
        }

        Assert.True(engine.IsSupported, engine.UnsupportedReason);
        await using var listener = await engine.ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = TestIdentities.Server,
            PeerTrust = TestIdentities.Pin(TestIdentities.Client),
        }, Ct);

        var (client1, server1) = await ConnectAsync(engine, listener);
        var clientInner = await client1.OpenStreamAsync(StreamDirection.Bidirectional, 3, Ct);
        await clientInner.WriteAsync(new byte[] { 0xAA }, false, Ct); // makes the stream known to the peer
        var serverInner = await server1.AcceptStreamAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
        var one = new byte[1];
        Assert.Equal(1, await serverInner.ReadAsync(one, Ct));

        var grace = TimeSpan.FromSeconds(60);
        await using var client = new ResumableStream(clientInner, new byte[16], 0, default, grace, TimeProvider.System) { Route = new ChannelRoute(client1, clientInner.Id) };
        await using var server = new ResumableStream(serverInner, new byte[16], 0, default, grace, TimeProvider.System) { Route = new ChannelRoute(server1, serverInner.Id) };

        var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var up = Task.Run(() => WriteAsync(client, halfway), Ct);
        var down = Task.Run(() => WriteAsync(server, null), Ct);
        var upRead = Task.Run(() => ReadAsync(server), Ct);
        var downRead = Task.Run(() => ReadAsync(client), Ct);

        await halfway.Task.WaitAsync(s_timeout, Ct);
        await client1.DisposeAsync(); // the connection ends under both streams
        await client.WaitDrainedAsync(Ct).WaitAsync(s_timeout, Ct);
        await server.WaitDrainedAsync(Ct).WaitAsync(s_timeout, Ct);
        Assert.True(client.IsSuspended);
        Assert.True(server.IsSuspended);

        var (client2, server2) = await ConnectAsync(engine, listener);
        var next = await client2.OpenStreamAsync(StreamDirection.Bidirectional, 3, Ct);
        await next.WriteAsync(new byte[] { 0xBB }, false, Ct);
        var accepted = await server2.AcceptStreamAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
        Assert.Equal(1, await accepted.ReadAsync(one, Ct));
        var clientRead = client.ReadOffset;
        var serverRead = server.ReadOffset;
        Assert.True(clientRead < Bytes && serverRead < Bytes, $"the connection ended after the transfer ({clientRead}, {serverRead}): nothing was resumed");
        TestContext.Current.TestOutputHelper?.WriteLine($"resumed at {serverRead} bytes up and {clientRead} down");
        Assert.True(await server.ResumeAsync(accepted, clientRead, default, Ct));
        Assert.True(await client.ResumeAsync(next, serverRead, default, Ct));

        await Task.WhenAll(up, down).WaitAsync(s_timeout, Ct);
        Assert.Equal(Bytes, await upRead.WaitAsync(s_timeout, Ct));
        Assert.Equal(Bytes, await downRead.WaitAsync(s_timeout, Ct));
        await client2.DisposeAsync();
        await server1.DisposeAsync();
        await server2.DisposeAsync();
    }

    private static async Task WriteAsync(ResumableStream stream, TaskCompletionSource? halfway)
    {
        var chunk = new byte[16 * 1024];
        for (var offset = 0; offset < Bytes; offset += chunk.Length)
        {
            for (var i = 0; i < chunk.Length; i++)
            {
                chunk[i] = Pattern(offset + i);
            }

            await stream.WriteAsync(chunk, offset + chunk.Length == Bytes, Ct);
            if (offset >= Bytes / 2)
            {
                halfway?.TrySetResult();
            }
        }
    }

    /// <summary>Reads to the end, checking every byte against its position; returns how many arrived.</summary>
    private static async Task<int> ReadAsync(ResumableStream stream)
    {
        var buffer = new byte[8 * 1024];
        var total = 0;
        while (true)
        {
            var n = await stream.ReadAsync(buffer, Ct);
            if (n == 0)
            {
                return total;
            }

            for (var i = 0; i < n; i++)
            {
                Assert.True(buffer[i] == Pattern(total + i), $"byte {total + i} is {buffer[i]}, not {Pattern(total + i)}");
            }

            total += n;
        }
    }

    private static byte Pattern(int position) => (byte)((position * 7) + (position >> 13));

    internal static async Task<(ITransportConnection Client, ITransportConnection Server)> ConnectAsync(ITransportEngine engine, ITransportListener listener)
    {
        var accept = listener.AcceptAsync(Ct).AsTask();
        var client = await engine.ConnectAsync(new TransportClientOptions
        {
            RemoteEndPoint = listener.LocalEndPoint,
            Identity = TestIdentities.Client,
            PeerTrust = TestIdentities.Pin(TestIdentities.Server),
        }, Ct).AsTask().WaitAsync(s_timeout, Ct);
        return (client, await accept.WaitAsync(s_timeout, Ct));
    }
}
