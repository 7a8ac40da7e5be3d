using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Edges;
using Accel.Core.Relay;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Accel.Core.Transport.Tls;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Tests.Relay;

/// <summary>
/// The server edge's limits and deadlines, each exercised through a real edge pair (ngtcp2 over loopback UDP) and
/// real TCP backends: an echo server, a backend that never reads, one that never answers.
/// </summary>
public sealed class LimitsThroughEdgesTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(20);

    /// <summary>A TLS record's first byte: the server edge relays such a channel as bytes (no SPICE link to read).</summary>
    private static readonly byte[] s_opaqueHello = [0x16, 3, 1, 0, 5, 1, 2, 3, 4, 5];

    [Fact]
    public async Task ChannelsPerConnection_OneAboveTheLimit_RefusedWithTheReasonWhileTheOthersRelay()
    {
        await using var echo = Backend.Echo();
        await using var pair = await EdgePair.StartAsync(new() { AllowList = echo.Allow, MaxChannelsPerConnection = 2 });

        var a = await pair.OpenAsync(echo, s_opaqueHello);
        var b = await pair.OpenAsync(echo, s_opaqueHello);
        var refused = await Assert.ThrowsAsync<EdgeRefusedException>(() => pair.OpenAsync(echo, s_opaqueHello));

        Assert.Equal(EdgeStatus.Unavailable, refused.Status);
        Assert.Contains("Limits:MaxChannelsPerConnection", refused.Reason, StringComparison.Ordinal);
        Assert.Contains(pair.Log, l => l.Contains("MaxChannelsPerConnection", StringComparison.Ordinal));
        await AssertEchoesAsync(a);
        await AssertEchoesAsync(b);
    }

    [Fact]
    public async Task ChannelsPerSession_OneAboveTheLimitToOneBackend_RefusedWhileAnotherBackendIsAdmitted()
    {
        await using var echo = Backend.Echo();
        await using var other = Backend.Echo();
        await using var pair = await EdgePair.StartAsync(new() { AllowList = new AllowList([echo.Rule, other.Rule]), MaxChannelsPerSession = 1 });

        var first = await pair.OpenAsync(echo, s_opaqueHello);
        var refused = await Assert.ThrowsAsync<EdgeRefusedException>(() => pair.OpenAsync(echo, s_opaqueHello));
        var elsewhere = await pair.OpenAsync(other, s_opaqueHello);

        Assert.Equal(EdgeStatus.Unavailable, refused.Status);
        Assert.Contains("Limits:MaxChannelsPerSession", refused.Reason, StringComparison.Ordinal);
        await AssertEchoesAsync(first);
        await AssertEchoesAsync(elsewhere);
    }

    [Fact]
    public async Task ConnectionsPerPeer_OneAboveTheLimit_ClosedAtOnceWhileTheFirstServes()
    {
        await using var echo = Backend.Echo();
        await using var pair = await EdgePair.StartAsync(new() { AllowList = echo.Allow, MaxConnectionsPerPeer = 1 });
        var channel = await pair.OpenAsync(echo, s_opaqueHello);

        // The same client key again, from a second client edge.
        await using var second = pair.NewClientEdge();
        var connection = await second.ConnectAsync("dc", TestContext.Current.CancellationToken);
        var closed = await connection.Closed.WaitAsync(Bounded, TestContext.Current.CancellationToken);

        Assert.Equal(RelayErrorCodes.Refused, closed.ApplicationErrorCode);
        Assert.Contains(pair.Log, l => l.Contains("Limits:MaxConnectionsPerPeer", StringComparison.Ordinal));
        await AssertEchoesAsync(channel);
    }

    [Fact]
    public async Task RequestTimeout_StreamThatNeverSendsItsRequest_AbortedAfterTheDeadline()
    {
        await using var echo = Backend.Echo();
        await using var pair = await EdgePair.StartAsync(new() { AllowList = echo.Allow, RequestTimeout = TimeSpan.FromSeconds(1) });
        var ct = TestContext.Current.CancellationToken;
        var connection = await pair.ClientEdge.ConnectAsync("dc", ct);

        // A stream with a byte on it (so the server edge sees it), but never a whole request.
        var stream = await connection.OpenStreamAsync(StreamDirection.Bidirectional, ChannelClasses.Main, ct);
        await stream.WriteAsync("S"u8.ToArray(), false, ct);

        Assert.Equal(RelayErrorCodes.ProtocolViolation, await AbortCodeAsync(stream));
        Assert.Contains(pair.Log, l => l.Contains("no request within 1 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LinkTimeout_TunnelThatNeverSendsAByte_AbortedAfterTheDeadline()
    {
        await using var echo = Backend.Echo();
        var relay = SpiceRelaySettings.Default with { LinkTimeout = TimeSpan.FromSeconds(1) };
        await using var pair = await EdgePair.StartAsync(new() { AllowList = echo.Allow, Relay = relay });

        var silent = await pair.OpenAsync(echo, default);

        Assert.Equal(RelayErrorCodes.TimedOut, await AbortCodeAsync(silent));
        Assert.Contains(pair.Log, l => l.Contains("no byte from the client within 1 s (Limits:LinkTimeout)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LinkTimeout_BackendThatNeverAnswersTheLink_ChannelClosedWithTheReason()
    {
        await using var mute = Backend.Silent();
        var relay = SpiceRelaySettings.Default with { LinkTimeout = TimeSpan.FromSeconds(1) };
        await using var pair = await EdgePair.StartAsync(new() { AllowList = mute.Allow, Relay = relay });
        var link = new ArrayBufferWriter<byte>();
        new SpiceLinkMess(0, SpiceChannelType.Main, 0, SpiceCapabilitySet.FromWords([0x09]), SpiceCapabilitySet.Empty).WriteTo(link);

        var channel = await pair.OpenAsync(mute, link.WrittenMemory);

        Assert.Equal(RelayErrorCodes.TimedOut, await AbortCodeAsync(channel));
        Assert.Contains(pair.Log, l => l.Contains("the SPICE link phase did not end within 1 s (Limits:LinkTimeout)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task StallTimeout_BackendThatNeverReads_ClosesItsOwnChannelOnlyWithTheReason()
    {
        await using var echo = Backend.Echo();
        await using var deaf = Backend.NeverReads();
        var relay = SpiceRelaySettings.Default with { StallTimeout = TimeSpan.FromSeconds(1) };
        await using var pair = await EdgePair.StartAsync(new() { AllowList = new AllowList([echo.Rule, deaf.Rule]), Relay = relay });
        var ct = TestContext.Current.CancellationToken;
        var live = await pair.OpenAsync(echo, s_opaqueHello);
        var stalled = await pair.OpenAsync(deaf, s_opaqueHello);

        // Fill the deaf backend's path until the server edge gives up on it: the writes end with the stream's reset.
        var chunk = new byte[64 * 1024];
        var started = TimeProvider.System.GetTimestamp();
        var written = 0L;
        var fill = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await stalled.WriteAsync(chunk, false, ct);
                    written += chunk.Length;
                }
            }
            catch (TransportException ex)
            {
                return ex;
            }
        }, ct);

        // While it fills and stalls, the other channel on the same connection keeps echoing.
        var rounds = 0;
        while (!fill.IsCompleted)
        {
            await AssertEchoesAsync(live);
            rounds++;
            Assert.True(rounds < 100_000, "the stalled channel was never closed");
        }

        var ended = await fill.WaitAsync(Bounded, ct);
        Assert.NotNull(ended);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"stalled channel closed {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.00} s after the first write, {written / 1024} KiB taken in; {rounds} echo round trips on the other channel meanwhile");
        Assert.Equal(RelayErrorCodes.TimedOut, await AbortCodeAsync(stalled));
        Assert.Contains(pair.Log, l => l.Contains("the local reader took no data for 1 s (Limits:StallTimeout); other channels go on", StringComparison.Ordinal));
        await AssertEchoesAsync(live);
    }

    [Fact]
    public async Task EightBackendsThatStopReading_WindowsFull_AnotherChannelOnTheConnectionStillEchoes()
    {
        // Default transport windows: each stalled channel fills its stream's window at the server edge; eight of them
        // held more than the connection window once was (16 MiB = 4 stream windows), and every other channel on the
        // connection then waited for the stall timeout.
        await using var echo = Backend.Echo();
        await using var deaf = Backend.NeverReads();
        var relay = SpiceRelaySettings.Default with { StallTimeout = TimeSpan.FromMinutes(1) };
        await using var pair = await EdgePair.StartAsync(new() { AllowList = new AllowList([echo.Rule, deaf.Rule]), Relay = relay });
        var ct = TestContext.Current.CancellationToken;
        var live = await pair.OpenAsync(echo, s_opaqueHello);
        var chunk = new byte[256 * 1024];
        long written = 0;
        for (var i = 0; i < 8; i++)
        {
            var stalled = await pair.OpenAsync(deaf, s_opaqueHello);

            // Until a write waits: the stream's window at the server edge and the client edge's send buffer are full.
            while (true)
            {
                // The write left waiting ends with its stream when the pair is disposed.
                var write = stalled.WriteAsync(chunk, false, ct).AsTask();
                if (await Task.WhenAny(write, Task.Delay(TimeSpan.FromMilliseconds(500), ct)) != write)
                {
                    break;
                }

                written += chunk.Length;
                Assert.True(written < 1L << 30, "writes to backends that never read never waited");
            }
        }

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await AssertEchoesAsync(live, within: TimeSpan.FromSeconds(2));
        TestContext.Current.TestOutputHelper?.WriteLine($"{written / (1024 * 1024)} MiB taken in by 8 stalled channels; the other echoed in {watch.ElapsedMilliseconds} ms");
        Assert.True(written > 32L * 1024 * 1024, $"the stalled channels took in only {written} bytes: they did not fill their windows");
    }

    /// <summary>Sends a few bytes and reads them back (the echo backend's answer, through both edges).</summary>
    private static async Task AssertEchoesAsync(ITransportStream stream, TimeSpan? within = null)
    {
        byte[] ping = [1, 2, 3, 4, 5, 6, 7, 8];
        var ct = TestContext.Current.CancellationToken;
        await stream.WriteAsync(ping, false, ct).AsTask().WaitAsync(within ?? Bounded, ct);
        Assert.Equal(ping, await ReadExactlyAsync(stream, ping.Length, within));
    }

    /// <summary>Reads <paramref name="length"/> bytes, each read within <paramref name="within"/> (default <see cref="Bounded"/>).</summary>
    private static async Task<byte[]> ReadExactlyAsync(ITransportStream stream, int length, TimeSpan? within = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var got = new byte[length];
        var filled = 0;
        while (filled < got.Length)
        {
            var n = await stream.ReadAsync(got.AsMemory(filled), ct).AsTask().WaitAsync(within ?? Bounded, ct);
            Assert.True(n > 0, "the echo channel ended");
            filled += n;
        }

        return got;
    }

    /// <summary>Reads until the server edge resets the stream; returns its error code (null: it ended cleanly).</summary>
    private static async Task<long?> AbortCodeAsync(ITransportStream stream)
    {
        var ct = TestContext.Current.CancellationToken;
        var buffer = new byte[64 * 1024];
        try
        {
            while (await stream.ReadAsync(buffer, ct).AsTask().WaitAsync(Bounded, ct) > 0)
            {
            }

            return null;
        }
        catch (TransportException ex)
        {
            return ex.ApplicationErrorCode;
        }
    }

    /// <summary>A TCP backend on loopback.</summary>
    private sealed class Backend : IAsyncDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly CancellationTokenSource _stop = new();
        private readonly ConcurrentBag<Socket> _accepted = [];
        private readonly Task _loop;

        private Backend(Func<Socket, CancellationToken, Task> serve, int receiveBuffer)
        {
            if (receiveBuffer > 0)
            {
                _listener.ReceiveBufferSize = receiveBuffer;
            }

            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
            _loop = AcceptAsync(serve);
        }

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public string Rule => $"127.0.0.1/32:{Port}";

        public AllowList Allow => new([Rule]);

        public static Backend Echo() => new(EchoAsync, 0) { Echoes = true };

        public bool Echoes { get; private init; }

        /// <summary>Accepts and never reads, with a small receive buffer.</summary>
        public static Backend NeverReads() => new(static (_, ct) => Task.Delay(Timeout.Infinite, ct), 4096) { Echoes = false };

        /// <summary>Accepts, reads, and never answers.</summary>
        public static Backend Silent() => new(DrainAsync, 0);

        private async Task AcceptAsync(Func<Socket, CancellationToken, Task> serve)
        {
            var served = new List<Task>();
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptAsync(_stop.Token);
                    _accepted.Add(socket);
                    served.Add(serve(socket, _stop.Token));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }

            try
            {
                await Task.WhenAll(served);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        private static async Task EchoAsync(Socket socket, CancellationToken ct)
        {
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
            {
                await socket.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, ct);
            }
        }

        private static async Task DrainAsync(Socket socket, CancellationToken ct)
        {
            var buffer = new byte[16 * 1024];
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, ct) > 0)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            foreach (var s in _accepted)
            {
                s.Dispose();
            }

            await _loop.WaitAsync(Bounded);
        }
    }

    /// <summary>A server edge and a client edge in this process, over the ngtcp2 engine on loopback UDP.</summary>
    private sealed class EdgePair : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly ListLogger _log = new();
        private readonly List<ClientEdge> _clients = [];
        private ITransportListener _listener = null!;
        private Task _serverLoop = Task.CompletedTask;
        private EndpointIdentity _client = null!;
        private ServerEdgeTarget _target = null!;
        private ClientEdge _edge = null!;

        public IReadOnlyCollection<string> Log => _log.Lines;

        public ClientEdge ClientEdge => _edge;

        public static async Task<EdgePair> StartAsync(ServerEdgeSettings settings)
        {
            var pair = new EdgePair();
            var engine = new Ngtcp2Engine();
            Assert.True(engine.IsSupported, "the ngtcp2 engine must run here: " + engine.UnsupportedReason);
            var server = EndpointIdentities.CreateSelfSigned("server");
            pair._client = EndpointIdentities.CreateSelfSigned("client");
            pair._listener = await engine.ListenAsync(new TransportListenerOptions
            {
                ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Identity = server,
                PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(pair._client.CertificatePem)] },
            }, TestContext.Current.CancellationToken);
            pair._serverLoop = new ServerEdge(pair._listener, settings, pair._log).RunAsync(pair._stop.Token);
            pair._target = new ServerEdgeTarget("dc", pair._listener.LocalEndPoint, new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(server.CertificatePem)] });
            pair._edge = pair.NewClientEdge();
            return pair;
        }

        public ClientEdge NewClientEdge()
        {
            var edge = new ClientEdge(new Ngtcp2Engine(), new ClientEdgeSettings
            {
                Identity = _client,
                ServerEdges = new Dictionary<string, ServerEdgeTarget> { ["dc"] = _target },
                ClientOptions = t => new TransportClientOptions { RemoteEndPoint = t.Address, Identity = _client, PeerTrust = t.Trust },
            });
            _clients.Add(edge);
            return edge;
        }

        /// <summary>Opens a channel to 127.0.0.1:<paramref name="port"/>, <paramref name="early"/> sent with the request.</summary>
        public async Task<ITransportStream> OpenAsync(Backend backend, ReadOnlyMemory<byte> early)
        {
            var request = new EdgeRequest("127.0.0.1", (ushort)backend.Port, ChannelClasses.Main, (byte)SpiceChannelType.Main);
            var (stream, leftover) = await _edge.OpenChannelAsync("dc", request, early, TestContext.Current.CancellationToken).WaitAsync(Bounded);
            if (backend.Echoes && !early.IsEmpty)
            {
                // An echo backend sends the hello back: take it (part may have come with the answer).
                await ReadExactlyAsync(stream, early.Length - leftover.Length);
            }

            return stream;
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var c in _clients)
            {
                await c.DisposeAsync();
            }

            await _stop.CancelAsync();
            await _serverLoop.WaitAsync(Bounded);
            await _listener.DisposeAsync();
        }
    }

    /// <summary>The server edge's log lines, formatted.</summary>
    private sealed class ListLogger : ILogger<ServerEdge>
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Lines.Enqueue(formatter(state, exception));
    }
}
