using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Accel.Edge.Commands;
using Accel.Edge.Demo;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>
/// The Proxmox path: spice-gtk → client edge (CONNECT listener) → QUIC → server edge → upstream HTTP CONNECT proxy →
/// Xspice. Server edge "tiny" uses a real tinyproxy as its upstream for host:port backends; server edge "pve" uses a
/// recording proxy that stands in for Proxmox's spiceproxy, which alone can take a <c>pvespiceproxy:…</c> target.
/// </summary>
public sealed class UpstreamProxyTests(UpstreamProxyLab lab) : IClassFixture<UpstreamProxyLab>
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    /// <summary>The shape of a Proxmox VE .vv host (ticket, vmid, node); spice-gtk adds the tls-port.</summary>
    private const string PveHost = "pvespiceproxy:6571ab2c::e3b0c44298fc1c149afbf4c8996fb92427ae41e4:100:pve1";

    [Fact]
    public async Task Screenshot_ThroughEdgesAndTinyproxy_MatchesDirect()
    {
        var direct = await lab.DirectAsync();
        var env = new Dictionary<string, string> { ["SPICE_PROXY"] = $"http://127.0.0.1:{lab.TinyConnectPort}" };
        var (through, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", lab.Xspice.Port, Path.Combine(lab.Dir, "tiny.ppm"), s_timeout, TestContext.Current.CancellationToken, environment: env);

        Assert.True(direct.DistinctColours() > 2, "the direct picture is blank");
        Assert.Equal(0, direct.CountDifferentPixels(through));

        // tinyproxy itself was asked for the backend, by the server edge.
        await lab.WaitForTinyproxyAsync($"CONNECT 127.0.0.1:{lab.Xspice.Port} HTTP/1.1", s_timeout);
        await lab.TinyEdge.WaitForLogAsync(l => l.Contains($"127.0.0.1:{lab.Xspice.Port}", StringComparison.Ordinal), s_timeout);
    }

    [Fact]
    public async Task Screenshot_PveSpiceProxyTarget_ReachesUpstreamVerbatim()
    {
        var direct = await lab.DirectAsync();
        var env = new Dictionary<string, string> { ["SPICE_PROXY"] = $"http://127.0.0.1:{lab.PveConnectPort}" };

        // As remote-viewer does with a Proxmox .vv file: host=pvespiceproxy:…, port 61000, proxy=the client edge.
        var (through, _) = await SpicyScreenshot.CaptureAsync(PveHost, 61000, Path.Combine(lab.Dir, "pve.ppm"), s_timeout, TestContext.Current.CancellationToken, environment: env);

        Assert.Equal(0, direct.CountDifferentPixels(through));
        Assert.NotEmpty(lab.Recorder.Targets);
        Assert.All(lab.Recorder.Targets, t => Assert.Equal(PveHost + ":61000", t));

        // The ticket grants console access: the edges log only the target's first field.
        Assert.DoesNotContain("e3b0c44298fc1c149afbf4c8996fb92427ae41e4", lab.PveEdge.Log + lab.ClientEdge.Log, StringComparison.Ordinal);
        await lab.PveEdge.WaitForLogAsync(l => l.Contains("pvespiceproxy:…:61000", StringComparison.Ordinal), s_timeout);
    }

    [Fact]
    public async Task Connect_PveTargetToTinyproxy_GetsHttpErrorAndServerEdgeLogsTheAnswer()
    {
        // Server edge "tiny" forwards opaque targets to tinyproxy, which refuses them (port not allowed, name unknown).
        var status = await Shell.RunAsync("bash", ["-c", $"exec 3<>/dev/tcp/127.0.0.1/{lab.TinyConnectPort}; printf 'CONNECT {PveHost}:61000 HTTP/1.1\\r\\n\\r\\n' >&3; timeout 20 head -n1 <&3"], s_timeout);

        Assert.Matches("^HTTP/1.1 (403|502|504)", status);
        await lab.TinyEdge.WaitForLogAsync(l => l.Contains("upstream proxy answered", StringComparison.Ordinal), s_timeout);
    }
}

/// <summary>Xspice, tinyproxy, the recording proxy, two server edges and one client edge, all on loopback.</summary>
public sealed class UpstreamProxyLab : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _tinyLog = new();
    private readonly SemaphoreSlim _tinyLogged = new(0);
    private XspiceServer? _xspice;
    private Process? _tinyproxy;

    public string Dir { get; } = Directory.CreateTempSubdirectory("spiceaccel-upstream-").FullName;

    internal XspiceServer Xspice => _xspice!;

    internal RecordingConnectProxy Recorder { get; private set; } = null!;

    internal EdgeProcess TinyEdge { get; private set; } = null!;

    internal EdgeProcess PveEdge { get; private set; } = null!;

    internal EdgeProcess ClientEdge { get; private set; } = null!;

    public int TinyConnectPort { get; } = FreePort(SocketType.Stream);

    public int PveConnectPort { get; } = FreePort(SocketType.Stream);

    public async ValueTask InitializeAsync()
    {
        Prerequisites.Require();
        Assert.True(File.Exists("/usr/bin/tinyproxy"), "tinyproxy is missing; run ./eng/setup.sh");
        _xspice = await XspiceServer.StartAsync(new XspiceOptions { ListenAddress = "127.0.0.1" }, CancellationToken.None);
        _xspice.StartClient("xterm", "-geometry", "120x40+0+0", "-bg", "lightyellow", "-fg", "navy", "-e", "sh", "-c", "echo SpiceAccel upstream; sleep 100000");
        await _xspice.RunAsync("xdotool", ["search", "--sync", "--onlyvisible", "--class", "xterm"], TimeSpan.FromSeconds(30), CancellationToken.None);

        Recorder = new RecordingConnectProxy(new IPEndPoint(IPAddress.Loopback, _xspice.Port));
        var tinyPort = FreePort(SocketType.Stream);
        await StartTinyproxyAsync(tinyPort);

        var (serverCert, serverKey) = KeygenCommand.Create("server", 2);
        var (clientCert, clientKey) = KeygenCommand.Create("client", 2);
        Write("server.crt", serverCert);
        Write("server.key", serverKey);
        Write("client.crt", clientCert);
        Write("client.key", clientKey);
        var xspice = $"127.0.0.1/32:{_xspice.Port}";
        var tinyUdp = FreePort(SocketType.Dgram);
        var pveUdp = FreePort(SocketType.Dgram);
        Write("tiny.json", ServerConfig(tinyUdp, PinCommand.PinOf(clientCert), [xspice, $"127.0.0.1/32:{tinyPort}"], new { Address = $"127.0.0.1:{tinyPort}", Backends = new[] { xspice } }));
        Write("pve.json", ServerConfig(pveUdp, PinCommand.PinOf(clientCert), [$"127.0.0.1/32:{Recorder.EndPoint.Port}"], new { Address = Recorder.EndPoint.ToString(), Backends = Array.Empty<string>() }));
        var serverPin = new[] { PinCommand.PinOf(serverCert) };
        Write("client.json", JsonSerializer.Serialize(new
        {
            Identity = new { CertificateFile = Path.Combine(Dir, "client.crt"), KeyFile = Path.Combine(Dir, "client.key") },
            Client = new
            {
                ServerEdges = new Dictionary<string, object>
                {
                    ["tiny"] = new { Address = $"127.0.0.1:{tinyUdp}", Pins = serverPin },
                    ["pve"] = new { Address = $"127.0.0.1:{pveUdp}", Pins = serverPin },
                },
                Listeners = new[]
                {
                    new { Mode = "Connect", Listen = $"127.0.0.1:{TinyConnectPort}", ServerEdge = "tiny" },
                    new { Mode = "Connect", Listen = $"127.0.0.1:{PveConnectPort}", ServerEdge = "pve" },
                },
            },
            Metrics = new { Listen = string.Empty },
        }));

        TinyEdge = await EdgeProcess.StartAsync(null, null, "server edge (tinyproxy upstream)", "server", Path.Combine(Dir, "tiny.json"), TimeSpan.FromSeconds(60));
        PveEdge = await EdgeProcess.StartAsync(null, null, "server edge (pve upstream)", "server", Path.Combine(Dir, "pve.json"), TimeSpan.FromSeconds(60));
        ClientEdge = await EdgeProcess.StartAsync(null, null, "client edge", "client", Path.Combine(Dir, "client.json"), TimeSpan.FromSeconds(60));
    }

    internal async Task<RgbImage> DirectAsync()
    {
        var (direct, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", Xspice.Port, Path.Combine(Dir, "direct-" + Guid.NewGuid().ToString("N") + ".ppm"), TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        return direct;
    }

    /// <summary>Waits for a line of tinyproxy's log containing <paramref name="text"/> (woken by each new line).</summary>
    internal async Task WaitForTinyproxyAsync(string text, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (!_tinyLog.Any(l => l.Contains(text, StringComparison.Ordinal)))
        {
            if (sw.Elapsed > timeout)
            {
                throw new TimeoutException($"tinyproxy did not log '{text}'. Log:\n{string.Join('\n', _tinyLog)}");
            }

            await _tinyLogged.WaitAsync(timeout - sw.Elapsed > TimeSpan.Zero ? timeout - sw.Elapsed : TimeSpan.Zero);
        }
    }

    private async Task StartTinyproxyAsync(int port)
    {
        var config = Path.Combine(Dir, "tinyproxy.conf");
        File.WriteAllText(config, $"Port {port}\nListen 127.0.0.1\nTimeout 600\nAllow 127.0.0.1\nConnectPort {_xspice!.Port}\nLogLevel Info\nMaxClients 50\n");
        var psi = new ProcessStartInfo("/usr/bin/tinyproxy") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in (string[])["-d", "-c", config])
        {
            psi.ArgumentList.Add(a);
        }

        _tinyproxy = Process.Start(psi)!;
        _tinyproxy.OutputDataReceived += (_, e) => Append(e.Data);
        _tinyproxy.ErrorDataReceived += (_, e) => Append(e.Data);
        _tinyproxy.BeginOutputReadLine();
        _tinyproxy.BeginErrorReadLine();
        await WaitForTinyproxyAsync("Accepting connections", TimeSpan.FromSeconds(20));
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            _tinyLog.Enqueue(line);
            _tinyLogged.Release();
        }
    }

    private string ServerConfig(int udpPort, string clientPin, string[] allowed, object upstream) => JsonSerializer.Serialize(new
    {
        Identity = new { CertificateFile = Path.Combine(Dir, "server.crt"), KeyFile = Path.Combine(Dir, "server.key") },
        Server = new
        {
            Listen = $"127.0.0.1:{udpPort}",
            ClientPins = new Dictionary<string, string> { ["branch"] = clientPin },
            AllowedBackends = allowed,
            BackendConnectTimeout = "00:00:05",
            UpstreamProxy = upstream,
        },
        Metrics = new { Listen = string.Empty },
    });

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(Dir, name), text);

    private static int FreePort(SocketType type)
    {
        using var s = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var edge in new[] { ClientEdge, PveEdge, TinyEdge })
        {
            if (edge is not null)
            {
                await edge.DisposeAsync();
            }
        }

        if (Recorder is not null)
        {
            await Recorder.DisposeAsync();
        }

        if (_tinyproxy is { HasExited: false })
        {
            _tinyproxy.Kill();
            await _tinyproxy.WaitForExitAsync();
        }

        _tinyproxy?.Dispose();
        if (_xspice is not null)
        {
            await _xspice.DisposeAsync();
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
