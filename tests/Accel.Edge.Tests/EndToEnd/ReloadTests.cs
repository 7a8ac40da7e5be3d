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
/// SIGHUP on the server edge (systemd's ExecReload): a remote-viewer session through client edge "a" keeps running
/// across a reload that adds client edge "b"'s pin, "b" is then let in, and a reload that removes "a"'s pin
/// disconnects "a" with a log line. All on loopback, with a real Xspice, remote-viewer and spicy-screenshot.
/// </summary>
public sealed class ReloadTests : IAsyncLifetime
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Directory.CreateTempSubdirectory("spiceaccel-reload-").FullName;
    private readonly int _udp = FreePort(SocketType.Dgram);
    private readonly int _portA = FreePort(SocketType.Stream);
    private readonly int _portB = FreePort(SocketType.Stream);
    private readonly int _portC = FreePort(SocketType.Stream);
    private readonly int _metricsA = FreePort(SocketType.Stream);
    private XspiceServer? _xspice;
    private EdgeProcess? _server;
    private EdgeProcess? _clientA;
    private string _pinA = string.Empty;
    private string _pinB = string.Empty;
    private string _serverPin = string.Empty;

    public async ValueTask InitializeAsync()
    {
        Prerequisites.Require();
        _xspice = await XspiceServer.StartAsync(new XspiceOptions { ListenAddress = "127.0.0.1" }, CancellationToken.None);

        // A clock that redraws every second: the session keeps sending display data while it lives.
        _xspice.StartClient("xclock", "-update", "1", "-geometry", "300x300+0+0");
        await _xspice.RunAsync("xdotool", ["search", "--sync", "--onlyvisible", "--class", "xclock"], TimeSpan.FromSeconds(30), CancellationToken.None);

        var (serverCert, serverKey) = KeygenCommand.Create("server", 2);
        var (certA, keyA) = KeygenCommand.Create("a", 2);
        var (certB, keyB) = KeygenCommand.Create("b", 2);
        _pinA = PinCommand.PinOf(certA);
        _pinB = PinCommand.PinOf(certB);
        _serverPin = PinCommand.PinOf(serverCert);
        foreach (var (name, text) in new[] { ("server.crt", serverCert), ("server.key", serverKey), ("a.crt", certA), ("a.key", keyA), ("b.crt", certB), ("b.key", keyB) })
        {
            Write(name, text);
        }

        WriteServerConfig(new() { ["a"] = _pinA });
        Write("a.json", ClientConfig("a", _portA, $"127.0.0.1:{_metricsA}", [_serverPin]));
        Write("b.json", ClientConfig("b", _portB, string.Empty, [_serverPin]));
        _server = await EdgeProcess.StartAsync(null, null, "server edge", "server", Path.Combine(_dir, "server.json"), s_timeout);
        _clientA = await EdgeProcess.StartAsync(null, null, "client edge a", "client", Path.Combine(_dir, "a.json"), s_timeout);
    }

    [Fact]
    public async Task Reload_AddingAPin_KeepsTheLiveSessionAndLetsTheNewEdgeIn_RemovingOneDisconnectsIt()
    {
        var server = _server!;
        var (xvfb, viewer) = await StartViewerAsync();
        using var xvfbProcess = xvfb;
        using var viewerProcess = viewer;
        try
        {
            var before = await SessionBytesAsync(b => b > 0, "remote-viewer's session through client edge a never carried display data");

            // Reload 1: add b's pin.
            WriteServerConfig(new() { ["a"] = _pinA, ["b"] = _pinB });
            await HangupAsync(server);
            await server.WaitForLogAsync(l => l.Contains("Configuration reloaded (SIGHUP): 2 client pins", StringComparison.Ordinal), s_timeout);
            await ReloadNotifiedAsync(server, "configuration reloaded");

            // a's session lived through it: same remote-viewer, still carrying the clock's redraws, never dropped.
            await SessionBytesAsync(b => b > before, "a's session stopped carrying data after the reload");
            Assert.False(viewer.HasExited, "remote-viewer exited");
            Assert.DoesNotContain(server.Log.Split('\n'), l => l.Contains("disconnected:", StringComparison.Ordinal) || l.Contains(" closed: ", StringComparison.Ordinal));

            // b is let in: a whole SPICE session through it. (Xspice serves one client at a time, so this one takes
            // the desktop over from remote-viewer: that is spice-server's doing, not the edges'.)
            await using (var clientB = await EdgeProcess.StartAsync(null, null, "client edge b", "client", Path.Combine(_dir, "b.json"), s_timeout))
            {
                var (picture, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", _portB, Path.Combine(_dir, "b.ppm"), s_timeout, TestContext.Current.CancellationToken);
                Assert.True(picture.DistinctColours() > 2, "the picture through client edge b is blank");
                await server.WaitForLogAsync(l => l.Contains("Peer b connected", StringComparison.Ordinal), s_timeout);
            }

            // Reload 2: remove a's pin. a is disconnected with a log line naming why.
            WriteServerConfig(new() { ["b"] = _pinB });
            await HangupAsync(server);
            await server.WaitForLogAsync(l => l.Contains("disconnected: its pin is no longer in Server:ClientPins", StringComparison.Ordinal) && l.Contains(_pinA, StringComparison.Ordinal), s_timeout);
            await server.WaitForLogAsync(l => l.Contains("Configuration reloaded (SIGHUP): 1 client pins", StringComparison.Ordinal) && l.Contains("1 peers disconnected", StringComparison.Ordinal), s_timeout);
            Assert.False(server.HasExited);
        }
        finally
        {
            viewer.Kill(entireProcessTree: true);
            xvfb.Kill(entireProcessTree: true);
        }
    }

    /// <summary>
    /// SIGHUP on client edge a (a server key rotation as an admin does it): a second pin beside the server edge's own
    /// changes nothing for the live session; a configuration that no longer pins the server edge's key closes the
    /// connection (the session waits to resume); the pin restored, the same remote-viewer session resumes. Then the
    /// listener moves to another port: the session on the old one goes on, the old port refuses, the new one serves.
    /// </summary>
    [Fact]
    public async Task Reload_ClientEdgePinsAndListeners_SessionKeptThroughASecondPin_ResumedAfterALostPinCameBack_ListenerMoved()
    {
        var client = _clientA!;
        var (xvfb, viewer) = await StartViewerAsync();
        using var xvfbProcess = xvfb;
        using var viewerProcess = viewer;
        try
        {
            var before = await SessionBytesAsync(b => b > 0, "remote-viewer's session through client edge a never carried display data");
            var metrics = $"127.0.0.1:{_metricsA}";

            // Reload 1: the key the server edge will rotate to (any other key: b's) pinned beside its own.
            Write("a.json", ClientConfig("a", _portA, metrics, [_serverPin, _pinB]));
            await HangupAsync(client);
            await client.WaitForLogAsync(l => l.Contains("addresses and pins of 1 server edges; 0 connections closed", StringComparison.Ordinal), s_timeout);
            await ReloadNotifiedAsync(client, "configuration reloaded");
            var during = await SessionBytesAsync(b => b > before, "a's session stopped carrying data after a reload that added a pin");

            // Reload 2: only the other key: the connection to a server edge whose key is no longer pinned is closed.
            Write("a.json", ClientConfig("a", _portA, metrics, [_pinB]));
            await HangupAsync(client);
            await client.WaitForLogAsync(l => l.Contains("is no longer in Client:ServerEdges:dc:Pins", StringComparison.Ordinal), s_timeout);
            await client.WaitForLogAsync(l => l.Contains("1 connections closed", StringComparison.Ordinal), s_timeout);
            await ReloadNotifiedAsync(client, "configuration reloaded");

            // Reload 3: the server edge's key pinned again, within the resume grace: the same session carries on.
            Write("a.json", ClientConfig("a", _portA, metrics, [_serverPin]));
            await HangupAsync(client);
            await ReloadNotifiedAsync(client, "configuration reloaded");
            var resumedAt = await SessionBytesAsync(_ => true, "a's session is gone after the pin came back");
            var resumed = await SessionBytesAsync(b => b > resumedAt && b > during, "a's session did not carry data again once the server edge's key was pinned again");
            Assert.False(viewer.HasExited, "remote-viewer exited");

            // Reload 4: the listener moves to another port. The old one stops accepting, its session goes on; the new
            // one serves a whole SPICE session (which takes the desktop over from remote-viewer: Xspice has one client).
            Write("a.json", ClientConfig("a", _portC, metrics, [_serverPin]));
            await HangupAsync(client);
            await ReloadNotifiedAsync(client, "configuration reloaded");
            await client.WaitForLogAsync(l => l.Contains($"listener on tcp 127.0.0.1:{_portA} closed (reload)", StringComparison.Ordinal), s_timeout);
            await SessionBytesAsync(b => b > resumed, "a's session stopped carrying data when its listener was removed");
            using (var refused = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
            {
                var e = await Assert.ThrowsAsync<SocketException>(async () => await refused.ConnectAsync(IPAddress.Loopback, _portA, TestContext.Current.CancellationToken));
                Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
            }

            var (picture, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", _portC, Path.Combine(_dir, "c.ppm"), s_timeout, TestContext.Current.CancellationToken);
            Assert.True(picture.DistinctColours() > 2, "the picture through the new listener is blank");
            Assert.False(client.HasExited);
        }
        finally
        {
            viewer.Kill(entireProcessTree: true);
            xvfb.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Reload_InvalidConfiguration_IsRejectedAndTheEdgeKeepsServing()
    {
        var server = _server!;
        Write("server.json", "{ \"Server\": { \"AllowedBackends\": 12 ");
        await HangupAsync(server);
        await server.WaitForLogAsync(l => l.Contains("reload (SIGHUP) rejected", StringComparison.Ordinal), s_timeout);
        await ReloadNotifiedAsync(server, "reload rejected");

        var (picture, _) = await SpicyScreenshot.CaptureAsync("127.0.0.1", _portA, Path.Combine(_dir, "a.ppm"), s_timeout, TestContext.Current.CancellationToken);
        Assert.True(picture.DistinctColours() > 2);
        Assert.False(server.HasExited);
    }

    /// <summary>bytes_to_client of a's session to Xspice in client edge a's /status, once <paramref name="until"/> holds.</summary>
    private async Task<long> SessionBytesAsync(Func<long, bool> until, string failure)
    {
        var sw = Stopwatch.StartNew();
        var json = string.Empty;
        while (sw.Elapsed < s_timeout)
        {
            json = await Shell.RunAsync("dotnet", [EdgeProcess.DllPath, "status", "--url", $"http://127.0.0.1:{_metricsA}/", "--json"]);
            using var doc = JsonDocument.Parse(json);
            foreach (var s in doc.RootElement.GetProperty("sessions").EnumerateArray())
            {
                if (s.GetProperty("backend").GetString() == $"127.0.0.1:{_xspice!.Port}" && s.GetProperty("bytes_to_client").GetInt64() is var bytes && until(bytes))
                {
                    return bytes;
                }
            }

            await Task.Delay(250);
        }

        Assert.Fail($"{failure} within {s_timeout.TotalSeconds} s; last /status of client edge a:\n{json}\nserver edge log:\n{_server!.Log}\nclient edge a log:\n{_clientA!.Log}");
        return -1;
    }

    /// <summary>An Xvfb of its own and remote-viewer on it, connected to client edge a.</summary>
    private async Task<(Process Xvfb, Process Viewer)> StartViewerAsync()
    {
        var (xvfb, display) = await NetLab.StartLocalXvfbAsync("1024x768x24", TestContext.Current.CancellationToken);
        var psi = new ProcessStartInfo("remote-viewer", $"spice://127.0.0.1:{_portA}") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        psi.Environment["DISPLAY"] = display;
        return (xvfb, Process.Start(psi)!);
    }

    /// <summary>The service manager was told: RELOADING=1 with the monotonic time (as Type=notify-reload asks), then READY=1 with the outcome.</summary>
    private static async Task ReloadNotifiedAsync(EdgeProcess edge, string outcome)
    {
        Assert.Matches(@"(^|\n)MONOTONIC_USEC=[1-9][0-9]*(\n|$)", await edge.WaitNotifyAsync("RELOADING=1", s_timeout));
        Assert.Contains(outcome, await edge.WaitNotifyAsync("READY=1", s_timeout), StringComparison.Ordinal);
    }

    private static Task HangupAsync(EdgeProcess edge) => Shell.RunAsync("kill", ["-HUP", edge.Pid.ToString(CultureInfo.InvariantCulture)]);

    private void WriteServerConfig(Dictionary<string, string> pins) => Write("server.json", JsonSerializer.Serialize(new
    {
        Identity = new { CertificateFile = Path.Combine(_dir, "server.crt"), KeyFile = Path.Combine(_dir, "server.key") },
        Server = new { Listen = $"127.0.0.1:{_udp}", ClientPins = pins, AllowedBackends = new[] { $"127.0.0.1/32:{_xspice!.Port}" } },
        Metrics = new { Listen = string.Empty },
    }));

    private string ClientConfig(string name, int port, string metrics, string[] serverPins) => JsonSerializer.Serialize(new
    {
        Identity = new { CertificateFile = Path.Combine(_dir, name + ".crt"), KeyFile = Path.Combine(_dir, name + ".key") },
        Client = new
        {
            ServerEdges = new Dictionary<string, object> { ["dc"] = new { Address = $"127.0.0.1:{_udp}", Pins = serverPins } },
            Listeners = new[] { new { Mode = "Explicit", Listen = $"127.0.0.1:{port}", ServerEdge = "dc", Backend = $"127.0.0.1:{_xspice!.Port}" } },
        },
        Metrics = new { Listen = metrics },
    });

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_dir, name), text);

    private static int FreePort(SocketType type)
    {
        using var s = new Socket(AddressFamily.InterNetwork, type, type == SocketType.Stream ? ProtocolType.Tcp : ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var edge in new[] { _clientA, _server })
        {
            if (edge is not null)
            {
                await edge.DisposeAsync();
            }
        }

        if (_xspice is not null)
        {
            await _xspice.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
