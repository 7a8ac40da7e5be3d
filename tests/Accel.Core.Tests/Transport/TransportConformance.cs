using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Transport;

/// <summary>An engine the conformance suite runs against.</summary>
public interface IEngineUnderTest
{
    static abstract ITransportEngine Create();

    /// <summary>True when the engine must run on this host: unsupported fails instead of skipping.</summary>
    static abstract bool MustRun { get; }
}

/// <summary>
/// What every QUIC engine behind the transport seam must do, over real loopback UDP: the harness the conformance
/// groups share (handshake, streams, stream aborts, connection). <typeparamref name="TEngine"/> supplies the
/// engine; a test skips (never passes) when the host cannot run it, unless the engine must run here.
/// </summary>
public abstract class TransportConformance<TEngine>
    where TEngine : IEngineUnderTest
{
    protected static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Urgencies the tests use (0 most urgent … 7): one strict, two weighted.</summary>
    protected const byte Urgent = 1;
    protected const byte Other = 4;
    protected const byte Background = 5;

    private ITransportEngine? _engine;

    protected ITransportEngine Engine => _engine ??= CreateEngine();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected static ITransportEngine CreateEngine() => TEngine.Create();

    /// <summary>Skips when the host cannot run the engine; fails instead when the engine must run here.</summary>
    protected void RequireEngine()
    {
        if (TEngine.MustRun)
        {
            Assert.True(Engine.IsSupported, Engine.Name + " must run on this host: " + Engine.UnsupportedReason);
        }
        else if (!Engine.IsSupported)
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

    /// <summary>
    /// Writes 8 MiB on a stream <paramref name="closing"/> opens, closes that connection with code 7 at once, and checks
    /// that <paramref name="reading"/>'s application read all of it and then saw the close with the code.
    /// </summary>
    protected static async Task CloseAfterLargeWriteAsync(ITransportConnection closing, ITransportConnection reading, int seed)
    {
        const long size = 8L * 1024 * 1024;
        var stream = await closing.OpenStreamAsync(StreamDirection.Unidirectional, Background, Ct).AsTask().WaitAsync(Timeout, Ct);
        var reader = Task.Run(async () => await ReadHashAsync(await reading.AcceptStreamAsync(Ct)), Ct);

        var sent = await WriteRandomAsync(stream, size, seed);
        await closing.CloseAsync(7, Ct).AsTask().WaitAsync(Timeout, Ct);

        var (length, hash) = await reader.WaitAsync(Timeout, Ct);
        Assert.Equal(size, length);
        Assert.Equal(sent, hash);
        var peerClosed = await reading.Closed.WaitAsync(Timeout, Ct);
        Assert.Equal(TransportError.ConnectionAborted, peerClosed.Error);
        Assert.Equal(7, peerClosed.ApplicationErrorCode);
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
}
