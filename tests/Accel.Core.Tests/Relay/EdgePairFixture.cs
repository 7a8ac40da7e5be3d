using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;
using Accel.Core.Tests.Spice;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Accel.Core.Edges;
using Accel.Core.Transport.Tls;

namespace Accel.Core.Tests.Relay;

/// <summary>
/// A real Xspice behind a real edge pair in this process: the ngtcp2 engine over loopback UDP, the server edge with an
/// allow-list for Xspice only, and a local TCP port served by the client edge (the explicit way in).
/// </summary>
public sealed class EdgePairFixture : IAsyncLifetime
{
    private readonly CancellationTokenSource _stop = new();
    private ITransportListener? _listener;
    private Socket? _accept;
    private Task? _serverLoop;
    private Task? _acceptLoop;

    internal XspiceServer Xspice { get; private set; } = null!;

    internal ClientEdge ClientEdge { get; private set; } = null!;

    /// <summary>The server edge takes input datagrams (false: it refuses them as an older version does).</summary>
    internal bool ServerInputDatagrams { get; init; } = true;

    /// <summary>The server edge compresses what it sends on channels that ask for it (false: stored blocks).</summary>
    internal bool ServerWanCompression { get; init; } = true;

    /// <summary>The client edge's largest accepted DATAGRAM frame (0: its connection has no datagrams).</summary>
    internal int ClientMaxDatagramFrameSize { get; init; } = 1200;

    /// <summary>
    /// Whether the pair's connection carries DATAGRAM frames: both engines have them (<see cref="TransportCapabilities.Datagrams"/>;
    /// msquic has none) and the client edge accepts them. Without them the edges fall back (inputs on the stream, no
    /// input copies, no previews), and tests of a datagram feature assert that fallback instead.
    /// </summary>
    internal bool Datagrams => ClientMaxDatagramFrameSize > 0 && PairHasDatagrams();

    /// <summary>Whether the engines chosen by E2E_SERVER_ENGINE / E2E_CLIENT_ENGINE both have DATAGRAM frames.</summary>
    internal static bool PairHasDatagrams()
        => (Engine("E2E_SERVER_ENGINE").Capabilities & Engine("E2E_CLIENT_ENGINE").Capabilities & TransportCapabilities.Datagrams) != 0;

    /// <summary>The client edge's inputs copy mode.</summary>
    internal Accel.Core.Spice.Input.InputRedundancyMode ClientInputRedundancy { get; init; } = Accel.Core.Spice.Input.InputRedundancyMode.Auto;


    /// <summary>Both edges' newest log lines, in time order, for a failure message.</summary>
    internal string LogTail(int count = 40)
        => string.Join('\n', ClientLogger.Entries.Select(static e => (e.At, Line: "client " + e.Id + " " + e.Message))
            .Concat(ServerLogger.Entries.Select(static e => (e.At, Line: "server " + e.Id + " " + e.Message)))
            .OrderBy(static e => e.At).TakeLast(count).Select(static e => $"{e.At:HH:mm:ss.fff} {e.Line}"));

    /// <summary>The client edge's log.</summary>
    internal RecordingLogger<ClientEdge> ClientLogger { get; init; } = new();

    /// <summary>The server edge's log.</summary>
    internal RecordingLogger<ServerEdge> ServerLogger { get; init; } = new();

    /// <summary>The server edge's relay settings.</summary>
    internal SpiceRelaySettings ServerRelay { get; init; } = SpiceRelaySettings.Default;

    /// <summary>Xspice's QXL device options (null: its defaults).</summary>
    internal IReadOnlyDictionary<string, string>? XspiceOptions { get; init; }

    /// <summary>The edges talk through a <see cref="UdpOutageRelay"/> (<see cref="Relay"/>) that a test can black-hole.</summary>
    internal bool ThroughRelay { get; init; }

    /// <summary>The relay between the edges (with <see cref="ThroughRelay"/>).</summary>
    internal UdpOutageRelay? Relay { get; private set; }

    /// <summary>Where a SPICE client connects to reach Xspice through both edges.</summary>
    public IPEndPoint EndPoint { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        // ngtcp2 at both edges unless E2E_SERVER_ENGINE / E2E_CLIENT_ENGINE name another (msquic, or a mixed pair).
        var serverEngine = Engine("E2E_SERVER_ENGINE");
        var engine = Engine("E2E_CLIENT_ENGINE");
        Xspice = await XspiceServer.StartAsync(XspiceOptions, ct).WaitAsync(TimeSpan.FromSeconds(60), ct);

        var server = EndpointIdentities.CreateSelfSigned("server");
        var client = EndpointIdentities.CreateSelfSigned("client");
        _listener = await serverEngine.ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = server,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(client.CertificatePem)] },
        }, ct);
        var serverEdge = new ServerEdge(_listener, new ServerEdgeSettings { AllowList = new AllowList([$"127.0.0.1/32:{Xspice.Port}"]), InputDatagrams = ServerInputDatagrams, WanCompression = ServerWanCompression, Relay = ServerRelay }, ServerLogger);
        _serverLoop = serverEdge.RunAsync(_stop.Token);

        Relay = ThroughRelay ? new UdpOutageRelay(_listener.LocalEndPoint) : null;
        var target = new ServerEdgeTarget("dc", Relay?.EndPoint ?? _listener.LocalEndPoint, new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(server.CertificatePem)] });
        ClientEdge = new ClientEdge(engine, new ClientEdgeSettings
        {
            Identity = client,
            ServerEdges = new Dictionary<string, ServerEdgeTarget> { ["dc"] = target },
            ClientOptions = t => new TransportClientOptions { RemoteEndPoint = t.Address, Identity = client, PeerTrust = t.Trust, MaxDatagramFrameSize = ClientMaxDatagramFrameSize },
            InputRedundancy = ClientInputRedundancy,
        }, ClientLogger);

        _accept = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _accept.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _accept.Listen(64);
        EndPoint = (IPEndPoint)_accept.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>The engine an in-process test edge uses: the one the variable names, else ngtcp2; it must run.</summary>
    internal static ITransportEngine Engine(string variable)
    {
        var name = Environment.GetEnvironmentVariable(variable) is { Length: > 0 } named ? named : "ngtcp2";
        var engine = name == "ngtcp2" ? new Ngtcp2Engine() : TransportEngines.Resolve(name);
        Assert.True(engine.IsSupported, $"the {engine.Name} engine must run here: {engine.UnsupportedReason}");
        return engine;
    }

    private async Task AcceptLoopAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await _accept!.AcceptAsync(_stop.Token);
                socket.NoDelay = true;
                sessions.Add(ServeAsync(socket));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(sessions);
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            await ClientEdge.HandleAsync(socket, "dc", "127.0.0.1", (ushort)Xspice.Port, _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _accept?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(20));
        }

        if (ClientEdge is not null)
        {
            await ClientEdge.DisposeAsync();
        }

        if (_serverLoop is not null)
        {
            await _serverLoop.WaitAsync(TimeSpan.FromSeconds(20));
        }

        if (_listener is not null)
        {
            await _listener.DisposeAsync();
        }

        if (Relay is not null)
        {
            await Relay.DisposeAsync();
        }

        if (Xspice is not null)
        {
            await Xspice.DisposeAsync();
        }
    }
}
