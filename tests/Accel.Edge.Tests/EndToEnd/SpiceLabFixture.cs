using System.Globalization;
using System.Text.Json;
using Accel.Edge.Commands;
using Accel.Edge.Demo;
using Accel.Edge.Tests.Lab;
using Accel.Core.Edges;
using Accel.Core.Transport;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>
/// A real SPICE deployment in three namespaces: Xspice with an xterm in the backend, the server edge in the data
/// centre, the client edge in the branch with all three ways in (explicit, HTTP CONNECT, transparent via nftables).
/// Shared by the end-to-end tests of one class; torn down (processes and namespaces) when they are done.
/// </summary>
public sealed class SpiceLabFixture : IAsyncLifetime
{
    public const int SpicePort = 5930;
    public const int ExplicitPort = 15930;
    public const int ConnectPort = 13128;
    public const int TransparentPort = 15999;
    public const int EdgePort = 4433;
    public const int MetricsPort = 9464;
    public const int RefusingPort = 5999;
    public const int TlsPort = 5931;
    public const int TlsExplicitPort = 15931;

    private NetLab? _lab;
    private XspiceServer? _xspice;

    internal NetLab Lab => _lab!;

    internal XspiceServer Xspice => _xspice!;

    internal EdgeProcess ServerEdge { get; private set; } = null!;

    internal EdgeProcess ClientEdge { get; private set; } = null!;

    public string Dir { get; } = Directory.CreateTempSubdirectory("spiceaccel-e2e-").FullName;

    /// <summary>Where the remote xterm writes what it receives on its keyboard.</summary>
    public string TypedFile => Path.Combine(Dir, "typed.txt");

    public string ServerPin { get; private set; } = string.Empty;

    public string ClientPin { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        Prerequisites.Require();
        _lab = await NetLab.CreateAsync();
        TestCertificates.WriteSpiceServerTls(Dir, _lab.BackendIp);
        _xspice = await XspiceServer.StartAsync(
            new XspiceOptions
            {
                NetNs = _lab.Backend,
                Port = SpicePort,
                ListenAddress = "0.0.0.0",
                TlsPort = TlsPort,
                TlsCaFile = Path.Combine(Dir, "spice-ca.pem"),
                TlsCertFile = Path.Combine(Dir, "spice-server-cert.pem"),
                TlsKeyFile = Path.Combine(Dir, "spice-server-key.pem"),
            },
            CancellationToken.None);
        File.WriteAllText(TypedFile, string.Empty);
        _xspice.StartClient("xterm", "-geometry", "160x50+0+0", "-bg", "lightyellow", "-fg", "navy", "-e", "sh", "-c", $"echo SpiceAccel e2e; stty -echo; cat > '{TypedFile}'");

        // The desktop is ready when the xterm is mapped (xdotool waits for it on the Xspice display).
        await _xspice.RunAsync("xdotool", ["search", "--sync", "--onlyvisible", "--class", "xterm"], TimeSpan.FromSeconds(30), CancellationToken.None);

        var (serverCert, serverKey) = KeygenCommand.Create("server", 2);
        var (clientCert, clientKey) = KeygenCommand.Create("client", 2);
        ServerPin = PinCommand.PinOf(serverCert);
        ClientPin = PinCommand.PinOf(clientCert);
        Write("server.crt", serverCert);
        Write("server.key", serverKey);
        Write("client.crt", clientCert);
        Write("client.key", clientKey);

        Write("server.json", JsonSerializer.Serialize(new
        {
            Identity = new { CertificateFile = Path.Combine(Dir, "server.crt"), KeyFile = Path.Combine(Dir, "server.key") },
            Server = new
            {
                Listen = $"{_lab.DcWanIp}:{EdgePort}",
                ClientPins = new[] { ClientPin },
                // 5999: allowed, but nothing listens there (a backend that refuses).
                AllowedBackends = new[] { $"{_lab.BackendIp}/32:{SpicePort}", $"{_lab.BackendIp}/32:{RefusingPort}", $"{_lab.BackendIp}/32:{TlsPort}" },
                BackendConnectTimeout = "00:00:03",
                TlsBackends = new[] { new { Match = $"{_lab.BackendIp}/32:{TlsPort}", CaFile = Path.Combine(Dir, "spice-ca.pem") } },
                // Every end-to-end test's client edge gets in through a stateless Retry (ngtcp2; msquic keeps its own).
                Handshakes = new { Retry = "always" },
            },
            Metrics = new { Listen = $"127.0.0.1:{MetricsPort}" },
            Transport = new { Engine = EngineFor("E2E_SERVER_ENGINE") },
        }));
        Write("client.json", ClientConfig(clientPins: [ServerPin]));

        ServerEdge = await EdgeProcess.StartAsync(_lab, _lab.Dc, "server edge", "server", Path.Combine(Dir, "server.json"), TimeSpan.FromSeconds(60));
        ClientEdge = await EdgeProcess.StartAsync(_lab, _lab.Branch, "client edge", "client", Path.Combine(Dir, "client.json"), TimeSpan.FromSeconds(60));

        // Transparent mode: the nftables rule, installed in the branch by the product's own verb.
        await Shell.InNsAsync(_lab.Branch, "dotnet", EdgeProcess.DllPath, "nft-rule", "--install", "--to-port", TransparentPort.ToString(CultureInfo.InvariantCulture), "--ports", SpicePort.ToString(CultureInfo.InvariantCulture));
    }

    public string ClientConfig(string[] clientPins, string? certificate = null, string? key = null, int explicitPort = ExplicitPort, bool allListeners = true)
    {
        var listeners = new List<object>
        {
            new { Mode = "Explicit", Listen = $"127.0.0.1:{explicitPort}", ServerEdge = "dc", Backend = $"{_lab!.BackendIp}:{SpicePort}" },
        };
        if (allListeners)
        {
            listeners.Add(new { Mode = "Explicit", Listen = $"127.0.0.1:{TlsExplicitPort}", ServerEdge = "dc", Backend = $"{_lab.BackendIp}:{TlsPort}" });
            listeners.Add(new { Mode = "Connect", Listen = $"127.0.0.1:{ConnectPort}", ServerEdge = "dc" });
            listeners.Add(new { Mode = "Transparent", Listen = $"0.0.0.0:{TransparentPort}", ServerEdge = "dc" });
        }

        return JsonSerializer.Serialize(new
        {
            Identity = new { CertificateFile = certificate ?? Path.Combine(Dir, "client.crt"), KeyFile = key ?? Path.Combine(Dir, "client.key") },
            Client = new
            {
                ServerEdges = new Dictionary<string, object> { ["dc"] = new { Address = $"{_lab.DcWanIp}:{EdgePort}", Pins = clientPins } },
                Listeners = listeners,
            },
            Metrics = new { Listen = allListeners ? $"127.0.0.1:{MetricsPort}" : string.Empty },
            Transport = new { Engine = EngineFor("E2E_CLIENT_ENGINE") },
        });
    }

    /// <summary>
    /// The QUIC engine of one edge: "auto" unless E2E_SERVER_ENGINE / E2E_CLIENT_ENGINE name one, so the same tests
    /// run on msquic at both edges or on a mixed pair (docs/msquic.md). Not SPICEACCEL_-prefixed: the edges inherit
    /// the environment and would read such a variable as configuration.
    /// </summary>
    internal static string EngineFor(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } engine ? engine : "auto";

    /// <summary>The engine that edge runs, resolved as the edge resolves it ("ngtcp2" or "msquic").</summary>
    internal static string EngineName(string variable) => TransportEngines.Resolve(EngineFor(variable)).Name;

    /// <summary>
    /// Whether both edges' engines have DATAGRAM frames, resolved here as the edges resolve them (they inherit this
    /// process's environment: "auto" takes msquic where libmsquic loads). msquic has none: the edges then fall back to
    /// the inputs stream, without input copies or display previews, and the tests of those features assert that.
    /// </summary>
    internal static bool PairHasDatagrams()
        => (TransportEngines.Resolve(EngineFor("E2E_SERVER_ENGINE")).Capabilities & TransportEngines.Resolve(EngineFor("E2E_CLIENT_ENGINE")).Capabilities
            & TransportCapabilities.Datagrams) != 0;

    public void Write(string name, string text) => File.WriteAllText(Path.Combine(Dir, name), text);

    public async ValueTask DisposeAsync()
    {
        if (ClientEdge is not null)
        {
            await ClientEdge.DisposeAsync();
        }

        if (ServerEdge is not null)
        {
            await ServerEdge.DisposeAsync();
        }

        if (_xspice is not null)
        {
            await _xspice.DisposeAsync();
        }

        if (_lab is not null)
        {
            await _lab.DisposeAsync();
        }

        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Prerequisites
{
    /// <summary>Fails (never skips) when a part the setup installs is missing.</summary>
    public static void Require()
    {
        if (!XspiceServer.IsInstalled(out var missing))
        {
            Assert.Fail("Xspice is missing: " + missing);
        }

        foreach (var tool in new[] { "/usr/bin/spicy-screenshot", "/usr/bin/remote-viewer", "/usr/bin/Xvfb", "/usr/bin/xdotool", "/usr/bin/xterm", "/usr/sbin/nft", "/usr/bin/ip" })
        {
            if (!File.Exists(tool) && !File.Exists(tool.Replace("/usr/sbin/", "/sbin/", StringComparison.Ordinal)) && !File.Exists(tool.Replace("/usr/bin/", "/bin/", StringComparison.Ordinal)))
            {
                Assert.Fail($"{tool} is missing; run ./eng/setup.sh");
            }
        }

        if (Environment.UserName != "root")
        {
            Assert.Fail("the end-to-end tests create network namespaces and need root");
        }
    }
}
