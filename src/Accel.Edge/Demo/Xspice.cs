using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Accel.Edge.Demo;

/// <summary>What the Xspice server is started with.</summary>
internal sealed record XspiceOptions
{
    /// <summary>X display number; 0 picks a free one from 40 up.</summary>
    public int Display { get; init; }

    /// <summary>SPICE TCP port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>SpiceImageCompression: off, auto_glz, auto_lz, quic, glz, lz, lz4. Null keeps the driver's default.</summary>
    public string? ImageCompression { get; init; }

    /// <summary>SpiceJpegWanCompression: auto, never, always.</summary>
    public string? JpegWanCompression { get; init; }

    /// <summary>SpiceZlibGlzWanCompression: auto, never, always.</summary>
    public string? ZlibGlzWanCompression { get; init; }

    /// <summary>SpiceStreamingVideo: off, all, filter.</summary>
    public string StreamingVideo { get; init; } = "off";

    /// <summary>Network namespace to run Xorg and its clients in (ip netns exec); null for the current one.</summary>
    public string? NetNs { get; init; }

    /// <summary>Address spice-server listens on.</summary>
    public string ListenAddress { get; init; } = "0.0.0.0";

    public string Resolution { get; init; } = "1024x768";

    /// <summary>Also listen on this TLS port (needs the three files below); 0 for none.</summary>
    public int TlsPort { get; init; }

    public string? TlsCaFile { get; init; }

    public string? TlsCertFile { get; init; }

    public string? TlsKeyFile { get; init; }
}

/// <summary>
/// A real SPICE server: Xorg with the spiceqxl driver (Debian's xserver-xspice), started from a generated config
/// (Xspice's own wrapper crashes here), plus X clients on its display. Everything is killed on dispose.
/// </summary>
internal sealed class XspiceServer : IAsyncDisposable
{
    private readonly List<Process> _processes = [];
    private readonly string _dir;

    private XspiceServer(XspiceOptions options, string dir, int display, int port)
    {
        Options = options;
        _dir = dir;
        Display = display;
        Port = port;
    }

    public XspiceOptions Options { get; }

    public int Display { get; }

    public int Port { get; }

    public string DisplayName => ":" + Display.ToString(CultureInfo.InvariantCulture);

    public string LogFile => Path.Combine(_dir, "Xorg.log");

    public static bool IsInstalled(out string missing)
    {
        foreach (var (path, package) in new[]
        {
            ("/usr/bin/Xorg", "xserver-xorg-core"),
            ("/usr/lib/xorg/modules/drivers/spiceqxl_drv.so", "xserver-xspice"),
        })
        {
            if (!File.Exists(path))
            {
                missing = $"{path} (Debian package {package}; run eng/setup.sh)";
                return false;
            }
        }

        missing = string.Empty;
        return true;
    }

    public static async Task<XspiceServer> StartAsync(XspiceOptions options, CancellationToken cancellationToken)
    {
        if (!IsInstalled(out var missing))
        {
            throw new InvalidOperationException("Xspice is not installed: missing " + missing);
        }

        var display = options.Display != 0 ? options.Display : FreeDisplay();
        var port = options.Port != 0 ? options.Port : FreeTcpPort();
        var dir = Directory.CreateTempSubdirectory("spiceaccel-xspice-").FullName;
        var server = new XspiceServer(options, dir, display, port);
        try
        {
            var config = Path.Combine(dir, "xorg.conf");
            await File.WriteAllTextAsync(config, Config(options, port), cancellationToken).ConfigureAwait(false);
            server.Start("Xorg", ["-config", config, "-logfile", server.LogFile, "-noreset", "-nolisten", "tcp", server.DisplayName], quiet: true);
            await server.WaitReadyAsync(cancellationToken).ConfigureAwait(false);
            return server;
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Starts an X client (xterm, xclock, …) on this display, in the server's namespace.</summary>
    public Process StartClient(string program, params string[] args) => Start(program, args, quiet: true);

    /// <summary>Runs a short X command (xdotool, xwd) on this display and returns its standard output.</summary>
    public async Task<byte[]> RunAsync(string program, string[] args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var p = Start(program, args, quiet: false, track: false);
        using var output = new MemoryStream();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await p.StandardOutput.BaseStream.CopyToAsync(output, cts.Token).ConfigureAwait(false);
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} did not finish within {timeout.TotalSeconds} s");
        }

        if (p.ExitCode != 0)
        {
            var err = await p.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({p.ExitCode}): {err.Trim()}");
        }

        return output.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            var p = _processes[i];
            try
            {
                if (!p.HasExited)
                {
                    p.Kill(entireProcessTree: true);
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                    await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
            {
            }

            p.Dispose();
        }

        _processes.Clear();
        TryDelete($"/tmp/.X{Display}-lock");
        TryDelete($"/tmp/.X11-unix/X{Display}");
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private Process Start(string program, string[] args, bool quiet, bool track = true)
    {
        var psi = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        if (Options.NetNs is not null)
        {
            psi.FileName = "ip";
            foreach (var a in (string[])["netns", "exec", Options.NetNs, program])
            {
                psi.ArgumentList.Add(a);
            }
        }
        else
        {
            psi.FileName = program;
        }

        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DISPLAY"] = DisplayName;
        var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + program);
        if (quiet)
        {
            p.OutputDataReceived += static (_, _) => { };
            p.ErrorDataReceived += static (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
        }

        if (track)
        {
            _processes.Add(p);
        }

        return p;
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        // Readiness of an external process: the X socket exists and the SPICE port accepts. Bounded to 30 s.
        var deadline = Stopwatch.StartNew();
        var xorg = _processes[0];
        while (deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            if (xorg.HasExited)
            {
                throw new InvalidOperationException($"Xorg exited with {xorg.ExitCode} at start; see {LogFile}:\n" + Tail(LogFile));
            }

            if (File.Exists($"/tmp/.X11-unix/X{Display}") && await PortOpenAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"Xspice on {DisplayName} port {Port} not ready within 30 s; see {LogFile}:\n" + Tail(LogFile));
    }

    private async Task<bool> PortOpenAsync(CancellationToken cancellationToken)
    {
        if (Options.NetNs is not null)
        {
            // The port lives in another namespace: ask ss there.
            using var p = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", Options.NetNs, "ss", "-Hltn", $"sport = :{Port}"]) { RedirectStandardOutput = true })!;
            var text = await p.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            await p.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return text.Contains("LISTEN", StringComparison.Ordinal);
        }

        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await s.ConnectAsync(IPAddress.Loopback, Port, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string Tail(string path)
    {
        try
        {
            var lines = File.ReadAllLines(path);
            return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 15)));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    private static int FreeDisplay()
    {
        for (var d = 40 + Random.Shared.Next(0, 40); d < 200; d++)
        {
            if (!File.Exists($"/tmp/.X{d}-lock") && !File.Exists($"/tmp/.X11-unix/X{d}"))
            {
                return d;
            }
        }

        throw new InvalidOperationException("no free X display number");
    }

    internal static int FreeTcpPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static string Config(XspiceOptions o, int port)
    {
        var options = new List<KeyValuePair<string, string>>
        {
            new("SpiceAddr", o.ListenAddress),
            new("SpiceStreamingVideo", o.StreamingVideo),
        };
        if (o.TlsPort != 0)
        {
            options.Add(new("SpiceTlsPort", o.TlsPort.ToString(CultureInfo.InvariantCulture)));
            options.Add(new("SpiceCacertFile", o.TlsCaFile ?? string.Empty));
            options.Add(new("SpiceX509CertFile", o.TlsCertFile ?? string.Empty));
            options.Add(new("SpiceX509KeyFile", o.TlsKeyFile ?? string.Empty));
        }

        foreach (var (key, value) in new[] { ("SpiceImageCompression", o.ImageCompression), ("SpiceJpegWanCompression", o.JpegWanCompression), ("SpiceZlibGlzWanCompression", o.ZlibGlzWanCompression) })
        {
            if (value is not null)
            {
                options.Add(new(key, value));
            }
        }

        return XspiceConfig.Build(port, options, o.Resolution);
    }
}
