using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Accel.Edge.Demo;
using Accel.Edge.Hosting;
using Accel.Edge.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Accel.Core.Edges;

namespace Accel.Edge.Commands;

/// <summary>
/// spiceaccel demo: a real SPICE desktop (Xspice with an xterm and a clock) behind both edges, viewed by spice-gtk
/// through the client edge; prints what it did and the live metrics, and saves a screenshot.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var engine = new Option<string>("--engine") { Description = "QUIC engine", DefaultValueFactory = _ => "auto" };
        engine.AcceptOnlyFromAmong("auto", "ngtcp2", "msquic");
        var output = new Option<string>("--out") { Description = "where pictures and keys go", DefaultValueFactory = _ => "demo-output", HelpName = "DIR" };
        var keep = new Option<bool>("--keep") { Description = "keep everything up until Ctrl-C" };
        var command = new Command("demo", """
            run Xspice, both edges and spice-gtk on this machine and show it working

            Starts Xspice (Xorg + spiceqxl) with an xterm and a clock, a server edge next to it and a client edge with
            an explicit and an HTTP CONNECT listener, then connects spice-gtk (spicy-screenshot) once directly and once
            through the edges, compares the two pictures, prints the edges' metrics and saves DIR/through-edges.png.
            With --keep everything stays up until Ctrl-C so you can connect remote-viewer yourself.
            """)
        {
            engine, output, keep,
        };
        command.SetAction((result, _) => RunAsync(result.GetValue(engine)!, result.GetValue(output)!, result.GetValue(keep)));
        return command;
    }

    private static async Task<int> RunAsync(string engine, string output, bool keep)
    {
        var outDir = Path.GetFullPath(output);
        Directory.CreateDirectory(outDir);
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };

        if (!XspiceServer.IsInstalled(out var missing) || !SpicyScreenshot.IsInstalled)
        {
            return Program.Fail("the demo needs Xspice and spice-gtk: " + (missing.Length > 0 ? missing : "spicy-screenshot") + " is missing; run ./eng/setup.sh");
        }

        var total = Stopwatch.StartNew();
        Step("making an identity for each edge");
        var keys = Path.Combine(outDir, "keys");
        Directory.CreateDirectory(keys);
        var (serverCert, serverKey) = KeygenCommand.Create("server", 30);
        var (clientCert, clientKey) = KeygenCommand.Create("client", 30);
        await File.WriteAllTextAsync(Path.Combine(keys, "server.crt"), serverCert, stop.Token).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(keys, "server.key"), serverKey, stop.Token).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(keys, "client.crt"), clientCert, stop.Token).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(keys, "client.key"), clientKey, stop.Token).ConfigureAwait(false);

        Step("starting Xspice (Xorg + spiceqxl) with an xterm and a clock");
        await using var xspice = await XspiceServer.StartAsync(new XspiceOptions { ListenAddress = "127.0.0.1" }, stop.Token).ConfigureAwait(false);
        xspice.StartClient("xterm", "-geometry", "80x24+20+20", "-e", "sh", "-c", "echo 'SpiceAccel demo: this xterm runs on the SPICE server'; uname -a; exec sh");
        xspice.StartClient("xclock", "-geometry", "200x200+700+40", "-update", "1");
        Console.Out.WriteLine($"    Xspice on display {xspice.DisplayName}, SPICE port {xspice.Port}");

        var edgeUdp = FreeUdpPort();
        var explicitPort = XspiceServer.FreeTcpPort();
        var connectPort = XspiceServer.FreeTcpPort();
        var serverMetrics = XspiceServer.FreeTcpPort();
        var clientMetrics = XspiceServer.FreeTcpPort();
        Step($"starting the server edge on udp 127.0.0.1:{edgeUdp} (engine {engine})");
        using var serverHost = EdgeHost.Build(EdgeRole.Server, null,
        [
            $"--Transport:Engine={engine}",
            $"--Identity:CertificateFile={Path.Combine(keys, "server.crt")}",
            $"--Identity:KeyFile={Path.Combine(keys, "server.key")}",
            $"--Server:Listen=127.0.0.1:{edgeUdp}",
            $"--Server:ClientPins:0={PinCommand.PinOf(clientCert)}",
            $"--Server:AllowedBackends:0=127.0.0.1/32:{xspice.Port}",
            $"--Metrics:Listen=127.0.0.1:{serverMetrics}",
            .. Quiet,
        ]);
        await serverHost.StartAsync(stop.Token).ConfigureAwait(false);

        Step($"starting the client edge: explicit listener 127.0.0.1:{explicitPort}, CONNECT proxy 127.0.0.1:{connectPort}");
        using var clientHost = EdgeHost.Build(EdgeRole.Client, null,
        [
            $"--Transport:Engine={engine}",
            $"--Identity:CertificateFile={Path.Combine(keys, "client.crt")}",
            $"--Identity:KeyFile={Path.Combine(keys, "client.key")}",
            $"--Client:ServerEdges:dc:Address=127.0.0.1:{edgeUdp}",
            $"--Client:ServerEdges:dc:Pins:0={PinCommand.PinOf(serverCert)}",
            "--Client:Listeners:0:Mode=Explicit",
            $"--Client:Listeners:0:Listen=127.0.0.1:{explicitPort}",
            "--Client:Listeners:0:ServerEdge=dc",
            $"--Client:Listeners:0:Backend=127.0.0.1:{xspice.Port}",
            "--Client:Listeners:1:Mode=Connect",
            $"--Client:Listeners:1:Listen=127.0.0.1:{connectPort}",
            "--Client:Listeners:1:ServerEdge=dc",
            $"--Metrics:Listen=127.0.0.1:{clientMetrics}",
            .. Quiet,
        ]);
        await clientHost.StartAsync(stop.Token).ConfigureAwait(false);

        var exit = 0;
        try
        {
            Step("spice-gtk (spicy-screenshot) straight to Xspice");
            var (direct, directTime) = await SpicyScreenshot.CaptureAsync("127.0.0.1", xspice.Port, Path.Combine(outDir, "direct.ppm"), TimeSpan.FromSeconds(60), stop.Token).ConfigureAwait(false);
            Console.Out.WriteLine($"    {direct.Width}x{direct.Height}, {direct.DistinctColours()} colours, {directTime.TotalMilliseconds:F0} ms");

            Step("spice-gtk through the client edge → QUIC → server edge → Xspice");
            var (through, throughTime) = await SpicyScreenshot.CaptureAsync("127.0.0.1", explicitPort, Path.Combine(outDir, "through-edges.ppm"), TimeSpan.FromSeconds(60), stop.Token).ConfigureAwait(false);
            through.WritePng(Path.Combine(outDir, "through-edges.png"));
            var diff = direct.CountDifferentPixels(through);
            Console.Out.WriteLine($"    {through.Width}x{through.Height}, {throughTime.TotalMilliseconds:F0} ms; {diff} pixels differ from the direct picture (the clock's hands may move)");

            Step("spice-gtk through the HTTP CONNECT proxy (SPICE_PROXY, as .vv files use)");
            var (proxied, proxiedTime) = await SpicyScreenshot.CaptureAsync("127.0.0.1", xspice.Port, Path.Combine(outDir, "through-proxy.ppm"), TimeSpan.FromSeconds(60), stop.Token,
                environment: new Dictionary<string, string> { ["SPICE_PROXY"] = $"http://127.0.0.1:{connectPort}" }).ConfigureAwait(false);
            Console.Out.WriteLine($"    {proxied.Width}x{proxied.Height}, {proxiedTime.TotalMilliseconds:F0} ms; {direct.CountDifferentPixels(proxied)} pixels differ");

            if (through.DistinctColours() < 3)
            {
                Console.Error.WriteLine("demo: the picture through the edges is blank");
                exit = 1;
            }

            Console.Out.WriteLine("    (both edges run in this one demo process, so both endpoints show both edges' counters)");
            Step("metrics of the client edge (Prometheus, http://127.0.0.1:" + clientMetrics + "/metrics)");
            await PrintMetricsAsync(clientMetrics, stop.Token).ConfigureAwait(false);
            Step("metrics of the server edge (http://127.0.0.1:" + serverMetrics + "/metrics)");
            await PrintMetricsAsync(serverMetrics, stop.Token).ConfigureAwait(false);

            Console.Out.WriteLine();
            Console.Out.WriteLine($"Screenshot through the edges: {Path.Combine(outDir, "through-edges.png")}");
            Console.Out.WriteLine($"Demo finished in {total.Elapsed.TotalSeconds:F1} s.");
            if (keep)
            {
                Console.Out.WriteLine($"Everything stays up. Try: remote-viewer spice://127.0.0.1:{explicitPort}   (Ctrl-C to stop)");
                await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            Console.Error.WriteLine("demo failed: " + ex.Message);
            exit = 1;
        }
        finally
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await clientHost.StopAsync(cts.Token).ConfigureAwait(false);
            await serverHost.StopAsync(cts.Token).ConfigureAwait(false);
        }

        return exit;
    }

    /// <summary>The demo prints its own story; the edges log only what matters (and every warning).</summary>
    private static readonly string[] Quiet = ["--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Accel=Information", "--Logging:LogLevel:Accel.Edge.Listeners=Warning", "--Logging:LogLevel:Accel.Edge.Hosting=Warning"];

    private static void Step(string text) => Console.Out.WriteLine("==> " + text);

    private static async Task PrintMetricsAsync(int port, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"), cancellationToken).ConfigureAwait(false);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("spiceaccel_", StringComparison.Ordinal))
            {
                Console.Out.WriteLine("    " + line);
            }
        }
    }

    internal static int FreeUdpPort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}
