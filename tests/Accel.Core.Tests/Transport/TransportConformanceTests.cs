using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// What every QUIC engine behind the transport seam must do, over real loopback UDP. Derived classes supply the
/// engine; a test skips (never passes) when the host cannot run it.
/// </summary>
public abstract class TransportConformanceTests
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private ITransportEngine? _engine;

    protected ITransportEngine Engine => _engine ??= CreateEngine();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract ITransportEngine CreateEngine();

    /// <summary>Skips when the host cannot run the engine; an engine that must run here overrides this to fail instead.</summary>
    protected virtual void RequireEngine()
    {
        if (!Engine.IsSupported)
        {
            Assert.Skip(Engine.UnsupportedReason ?? Engine.Name + " is not supported here");
        }
    }

    protected static TransportListenerOptions ServerOptions(EndpointIdentity? identity = null, PeerTrust? trust = null) => new()
    {
        ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
        Identity = identity ?? TestIdentities.Server,
        PeerTrust = trust ?? TestIdentities.Pin(TestIdentities.Client),
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    protected static TransportClientOptions ClientOptions(ITransportListener listener, EndpointIdentity? identity = null, PeerTrust? trust = null) => new()
    {
        RemoteEndPoint = listener.LocalEndPoint,
        Identity = identity ?? TestIdentities.Client,
        PeerTrust = trust ?? TestIdentities.Pin(TestIdentities.Server),
        HandshakeTimeout = TimeSpan.FromSeconds(5),
    };

    protected sealed class Pair : IAsyncDisposable
    {
        public required ITransportListener Listener { get; init; }

        public required ITransportConnection Client { get; init; }

        public required ITransportConnection Server { get; init; }

        public async ValueTask DisposeAsync()
        {
            await Client.DisposeAsync();
            await Server.DisposeAsync();
            await Listener.DisposeAsync();
        }
    }

    protected async Task<Pair> ConnectAsync(Func<TransportListenerOptions, TransportListenerOptions>? server = null, Func<TransportClientOptions, TransportClientOptions>? client = null)
    {
        var serverOptions = ServerOptions();
        serverOptions = server?.Invoke(serverOptions) ?? serverOptions;
        var listener = await Engine.ListenAsync(serverOptions, Ct);
        try
        {
            var clientOptions = ClientOptions(listener);
            clientOptions = client?.Invoke(clientOptions) ?? clientOptions;
            var accept = listener.AcceptAsync(Ct).AsTask();
            var connection = await Engine.ConnectAsync(clientOptions, Ct).AsTask().WaitAsync(Timeout, Ct);
            var accepted = await accept.WaitAsync(Timeout, Ct);
            return new Pair { Listener = listener, Client = connection, Server = accepted };
        }
        catch
        {
            await listener.DisposeAsync();
            throw;
        }
    }

    protected static async Task<byte[]> ReadAllAsync(ITransportStream stream, Action<int>? progress = null)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var n = await stream.ReadAsync(chunk, Ct).AsTask().WaitAsync(Timeout, Ct);
            if (n == 0)
            {
                return buffer.ToArray();
            }

            buffer.Write(chunk, 0, n);
            progress?.Invoke(n);
        }
    }

    /// <summary>Reads to FIN, hashing as it goes (large transfers).</summary>
    protected static async Task<(long Length, byte[] Hash)> ReadHashAsync(ITransportStream stream)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var chunk = new byte[256 * 1024];
        long total = 0;
        while (true)
        {
            var n = await stream.ReadAsync(chunk, Ct).AsTask().WaitAsync(Timeout, Ct);
            if (n == 0)
            {
                return (total, hash.GetHashAndReset());
            }

            hash.AppendData(chunk, 0, n);
            total += n;
        }
    }

    /// <summary>Writes <paramref name="length"/> pseudo-random bytes (seeded) and FIN; returns their SHA-256.</summary>
    protected static async Task<byte[]> WriteRandomAsync(ITransportStream stream, long length, int seed)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var random = new Random(seed);
        var chunk = new byte[256 * 1024];
        var left = length;
        while (left > 0)
        {
            var n = (int)Math.Min(chunk.Length, left);
            random.NextBytes(chunk.AsSpan(0, n));
            hash.AppendData(chunk, 0, n);
            await stream.WriteAsync(chunk.AsMemory(0, n), false, Ct).AsTask().WaitAsync(Timeout, Ct);
            left -= n;
        }

        await stream.WriteAsync(ReadOnlyMemory<byte>.Empty, true, Ct).AsTask().WaitAsync(Timeout, Ct);
        return hash.GetHashAndReset();
    }

    // ---- Handshake and authentication ---------------------------------------------------------------------

    [Fact]
    public async Task Handshake_MutualPins_NegotiatesAlpnAndExposesPeerKeys()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();

        Assert.Equal(TransportOptions.DefaultAlpn, pair.Client.NegotiatedAlpn);
        Assert.Equal(TransportOptions.DefaultAlpn, pair.Server.NegotiatedAlpn);
        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(TestIdentities.Server.CertificatePem), pair.Client.PeerSpkiSha256.ToArray());
        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(TestIdentities.Client.CertificatePem), pair.Server.PeerSpkiSha256.ToArray());
        Assert.Equal(pair.Listener.LocalEndPoint, pair.Client.RemoteEndPoint);
    }

    [Fact]
    public async Task Connect_ClientPinsAnotherServer_FailsWithAuthenticationFailedAndListenerYieldsNothing()
    {
        RequireEngine();
        await using var listener = await Engine.ListenAsync(ServerOptions(), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await Assert.ThrowsAsync<TransportException>(() =>
            Engine.ConnectAsync(ClientOptions(listener, trust: TestIdentities.Pin(TestIdentities.Stranger)), Ct).AsTask().WaitAsync(Timeout, Ct));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Connect_ServerPinsAnotherClient_ClientFailsAndListenerYieldsNothing()
    {
        RequireEngine();
        await using var listener = await Engine.ListenAsync(ServerOptions(trust: TestIdentities.Pin(TestIdentities.Stranger)), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await ConnectRefusedAsync(ClientOptions(listener));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Connect_ClientPresentsNoCertificate_IsRefused()
    {
        RequireEngine();
        await using var listener = await Engine.ListenAsync(ServerOptions(), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await ConnectRefusedAsync(ClientOptions(listener, identity: new EndpointIdentity(string.Empty, string.Empty)));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Handshake_CaBundleTrust_AcceptsCertificatesIssuedByTheCa()
    {
        RequireEngine();
        using var ca = new TestIdentities.TestCa("test-ca");
        var trust = new PeerTrust { CaBundlePem = ca.CertificatePem };
        var serverIdentity = ca.Issue("server");
        var clientIdentity = ca.Issue("client");

        await using var pair = await ConnectAsync(
            s => s with { Identity = serverIdentity, PeerTrust = trust },
            c => c with { Identity = clientIdentity, PeerTrust = trust });

        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(serverIdentity.CertificatePem), pair.Client.PeerSpkiSha256.ToArray());
        Assert.Equal(EndpointIdentities.ComputeSpkiSha256(clientIdentity.CertificatePem), pair.Server.PeerSpkiSha256.ToArray());
    }

    [Fact]
    public async Task Handshake_CaBundleTrust_RefusesCertificateFromAnotherCa()
    {
        RequireEngine();
        using var ca = new TestIdentities.TestCa("test-ca");
        using var other = new TestIdentities.TestCa("other-ca");
        await using var listener = await Engine.ListenAsync(ServerOptions(ca.Issue("server"), new PeerTrust { CaBundlePem = ca.CertificatePem }), Ct);
        var accept = listener.AcceptAsync(Ct).AsTask();

        var error = await ConnectRefusedAsync(ClientOptions(listener, other.Issue("client"), new PeerTrust { CaBundlePem = ca.CertificatePem }));

        Assert.True(error.Error == TransportError.AuthenticationFailed, $"{error.Error}: {error.Message}");
        await AssertNoAcceptAsync(accept);
    }

    [Fact]
    public async Task Connect_NothingListening_FailsWithConnectionRefusedWithinTheHandshakeTimeout()
    {
        RequireEngine();
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var silent = (IPEndPoint)probe.LocalEndPoint!;
        var options = new TransportClientOptions
        {
            RemoteEndPoint = silent,
            Identity = TestIdentities.Client,
            PeerTrust = TestIdentities.Pin(TestIdentities.Server),
            HandshakeTimeout = TimeSpan.FromSeconds(1),
        };
        var watch = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<TransportException>(() => Engine.ConnectAsync(options, Ct).AsTask().WaitAsync(Timeout, Ct));

        Assert.Equal(TransportError.ConnectionRefused, error.Error);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"took {watch.Elapsed}");
    }

    /// <summary>
    /// A handshake the server refuses: ConnectAsync fails, or the connection it returned closes with the error.
    /// In TLS 1.3 the client has finished its handshake before the server checks the client's certificate; ngtcp2
    /// waits for HANDSHAKE_DONE before it returns, System.Net.Quic returns at the client's Finished and has no
    /// handshake-confirmed signal, so the refusal reaches an MsQuic client one round trip later, as the close.
    /// </summary>
    private async Task<TransportException> ConnectRefusedAsync(TransportClientOptions options)
    {
        ITransportConnection connection;
        try
        {
            connection = await Engine.ConnectAsync(options, Ct).AsTask().WaitAsync(Timeout, Ct);
        }
        catch (TransportException ex)
        {
            return ex;
        }

        await using (connection)
        {
            return await connection.Closed.WaitAsync(Timeout, Ct);
        }
    }

    private static async Task AssertNoAcceptAsync(Task<ITransportConnection> accept)
    {
        // The handshake has already failed on the client; give the listener a moment to (wrongly) yield it.
        var winner = await Task.WhenAny(accept, Task.Delay(TimeSpan.FromMilliseconds(500), Ct));
        Assert.NotSame(accept, winner);
    }

    // ---- Streams ------------------------------------------------------------------------------------------

    [Fact]
    public async Task AcceptedStream_StartsWithTheSeamsDefaultPriority_ThenTakesTheOneSet()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Input, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("x"u8.ToArray(), false, Ct).AsTask().WaitAsync(Timeout, Ct);
        var peer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);

        Assert.Equal(PriorityClass.Input, stream.Priority);
        Assert.Equal(TransportDefaults.AcceptedStreamPriority, peer.Priority);
        peer.Priority = PriorityClass.Display;
        Assert.Equal(PriorityClass.Display, peer.Priority);
    }

    [Fact]
    public async Task Stream_SmallEcho_RoundTrips()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Main, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        var up = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);
        var down = await pair.Server.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);

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
            bidi[i] = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Display, Ct).AsTask().WaitAsync(Timeout, Ct);
            uni[i] = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Display, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        if ((Engine.Capabilities & TransportCapabilities.CongestionControlChoice) == 0 && algorithm != CongestionControlAlgorithm.Cubic)
        {
            Assert.Skip(Engine.Name + " cannot choose the congestion controller");
        }

        await using var pair = await ConnectAsync(s => s with { CongestionControl = algorithm }, c => c with { CongestionControl = algorithm });
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        var first = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Main, Ct).AsTask().WaitAsync(Timeout, Ct);
        var second = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Main, Ct).AsTask().WaitAsync(Timeout, Ct);
        var third = pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Main, Ct).AsTask();
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

    // ---- Aborts -------------------------------------------------------------------------------------------

    [Fact]
    public async Task Abort_Write_PeerReadFailsWithStreamAbortedAndTheCode()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Main, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Main, Ct).AsTask().WaitAsync(Timeout, Ct);
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
    public async Task ReadAsync_CancelledWhileWaiting_ThrowsAndAbortsTheReadSide()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Main, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);
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

    // ---- Datagrams ----------------------------------------------------------------------------------------

    [Fact]
    public async Task Datagram_SentBothWays_Arrives()
    {
        RequireEngine();
        if ((Engine.Capabilities & TransportCapabilities.Datagrams) == 0)
        {
            Assert.Skip(Engine.Name + " has no DATAGRAM support");
        }

        await using var pair = await ConnectAsync();
        Assert.True(pair.Client.MaxDatagramPayloadSize >= 1000, $"max datagram payload {pair.Client.MaxDatagramPayloadSize}");

        var buffer = new byte[2048];
        var toServer = pair.Server.ReceiveDatagramAsync(buffer, Ct).AsTask();
        Assert.True(pair.Client.TrySendDatagram("ping-datagram"u8));
        var n = await toServer.WaitAsync(Timeout, Ct);
        Assert.Equal("ping-datagram"u8.ToArray(), buffer.AsSpan(0, n).ToArray());

        var big = new byte[pair.Server.MaxDatagramPayloadSize];
        new Random(5).NextBytes(big);
        var toClient = pair.Client.ReceiveDatagramAsync(buffer, Ct).AsTask();
        Assert.True(pair.Server.TrySendDatagram(big));
        n = await toClient.WaitAsync(Timeout, Ct);
        Assert.Equal(big, buffer.AsSpan(0, n).ToArray());
        Assert.False(pair.Server.TrySendDatagram(new byte[pair.Server.MaxDatagramPayloadSize + 1]));
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
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Control, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        var stream = await connection.OpenStreamAsync(StreamDirection.Bidirectional, PriorityClass.Control, Ct).AsTask().WaitAsync(Timeout, Ct);
        await stream.WriteAsync("echo"u8.ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        Assert.Equal("echo"u8.ToArray(), await ReadAllAsync(stream));

        peer.Kill();
        var watch = Stopwatch.StartNew();
        var closed = await connection.Closed.WaitAsync(Timeout, Ct);

        Assert.Equal(TransportError.ConnectionIdle, closed.Error);
        Assert.True(watch.Elapsed < idle + TimeSpan.FromSeconds(2), $"detected after {watch.Elapsed}");
    }

    [Fact]
    public async Task CloseAsync_AfterLargeWrite_DeliversEverythingThenPeerSeesTheCode()
    {
        RequireEngine();
        const long size = 8L * 1024 * 1024;
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);
        var reader = Task.Run(async () => await ReadHashAsync(await pair.Server.AcceptStreamAsync(Ct)), Ct);

        var sent = await WriteRandomAsync(stream, size, 9);
        await pair.Client.CloseAsync(7, Ct).AsTask().WaitAsync(Timeout, Ct);

        var (length, hash) = await reader.WaitAsync(Timeout, Ct);
        Assert.Equal(size, length);
        Assert.Equal(sent, hash);
        var peerClosed = await pair.Server.Closed.WaitAsync(Timeout, Ct);
        Assert.Equal(TransportError.ConnectionAborted, peerClosed.Error);
        Assert.Equal(7, peerClosed.ApplicationErrorCode);
        Assert.Equal(TransportError.ConnectionClosed, (await pair.Client.Closed.WaitAsync(Timeout, Ct)).Error);
    }

    [Fact]
    public async Task Statistics_AfterTransfer_ReportRttWindowAndCounters()
    {
        RequireEngine();
        await using var pair = await ConnectAsync();
        var stream = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);
        var reader = Task.Run(async () => await ReadHashAsync(await pair.Server.AcceptStreamAsync(Ct)), Ct);
        await WriteRandomAsync(stream, 1024 * 1024, 3);
        await reader.WaitAsync(Timeout, Ct);
        await stream.WritesClosed.WaitAsync(Timeout, Ct);

        var stats = pair.Client.GetStatistics();

        Assert.True(stats.BytesSent >= 1024 * 1024, $"bytes sent {stats.BytesSent}");
        Assert.True(stats.PacketsSent > 700, $"packets sent {stats.PacketsSent}");
        Assert.True(stats.PacketsReceived > 0);
        if ((pair.Client.Capabilities & TransportCapabilities.ConnectionStatistics) != 0)
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
        var bulk = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Bulk, Ct).AsTask().WaitAsync(Timeout, Ct);
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
        var input = await pair.Client.OpenStreamAsync(StreamDirection.Unidirectional, PriorityClass.Input, Ct).AsTask().WaitAsync(Timeout, Ct);
        var sentAt = Interlocked.Read(ref bulkReceived);
        await input.WriteAsync("key-press"u8.ToArray(), true, Ct).AsTask().WaitAsync(Timeout, Ct);
        var inputPeer = await pair.Server.AcceptStreamAsync(Ct).AsTask().WaitAsync(Timeout, Ct);
        var message = await ReadAllAsync(inputPeer);
        var bulkAtArrival = Interlocked.Read(ref bulkReceived);

        Assert.Equal("key-press"u8.ToArray(), message);
        await bulkWriter.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        Assert.Equal(bulkSize, (await bulkReader.WaitAsync(TimeSpan.FromSeconds(60), Ct)).LongLength);
        Assert.True(bulkAtArrival < bulkSize * 9 / 10, $"input arrived after {bulkAtArrival} of {bulkSize} bulk bytes (written at {sentAt})");
    }
}
