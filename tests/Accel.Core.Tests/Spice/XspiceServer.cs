using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace Accel.Core.Tests.Spice;

/// <summary>
/// A real spice-server: Xorg with the spiceqxl driver (Debian xserver-xspice), ticketing disabled, listening on a
/// free loopback port. Xorg picks a free display itself (-displayfd) and reports it once it accepts clients, so
/// start-up needs no polling. Everything started here is stopped in <see cref="DisposeAsync"/>.
/// </summary>
internal sealed partial class XspiceServer : IAsyncDisposable
{
    private const string XorgPath = "/usr/bin/Xorg";
    private const string DriverPath = "/usr/lib/xorg/modules/drivers/spiceqxl_drv.so";
    private const int SigTerm = 15;

    private readonly Process _xorg;
    private readonly string _directory;
    private readonly StringBuilder _stderr;
    private readonly List<Process> _clients = [];

    private XspiceServer(Process xorg, string directory, StringBuilder stderr, int port)
    {
        _xorg = xorg;
        _directory = directory;
        _stderr = stderr;
        Port = port;
    }

    public int Display { get; private set; } = -1;

    public int Port { get; }

    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);

    public static Task<XspiceServer> StartAsync(CancellationToken cancellationToken) => StartAsync(null, cancellationToken);

    /// <summary>
    /// Starts Xspice with extra Device options, e.g. SpiceImageCompression = quic|lz|glz|auto_glz|auto_lz|off,
    /// SpiceJpegWanCompression / SpiceZlibGlzWanCompression = auto|never|always.
    /// </summary>
    public static async Task<XspiceServer> StartAsync(IReadOnlyDictionary<string, string>? deviceOptions, CancellationToken cancellationToken)
    {
        if (!File.Exists(XorgPath) || !File.Exists(DriverPath))
        {
            throw new InvalidOperationException(
                $"Xspice is not installed ({XorgPath} and {DriverPath} are required): install xserver-xspice (eng/setup.sh does).");
        }

        var port = FreeTcpPort();
        var directory = Directory.CreateTempSubdirectory("xspice-test-").FullName;
        var config = Path.Combine(directory, "xorg.conf");
        await File.WriteAllTextAsync(config, Config(port, deviceOptions), cancellationToken);

        // Xorg reports its display on fd 3 (a dup of our stdout pipe) and then closes it. Its own stdout goes to a
        // file: the spiceqxl driver printf()s debug lines, and if fd 1 were the closed -displayfd, the next accepted
        // client socket would get fd 1 and those lines would land in the SPICE stream.
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.Environment["XSPICE_STDOUT"] = Path.Combine(directory, "Xorg.stdout");
        foreach (var arg in new[] { "-c", "exec " + XorgPath + " \"$@\" 3>&1 1>>\"$XSPICE_STDOUT\"", "xorg" })
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var arg in new[] { "-config", config, "-logfile", Path.Combine(directory, "Xorg.log"), "-noreset", "-nolisten", "tcp", "-displayfd", "3" })
        {
            start.ArgumentList.Add(arg);
        }

        var stderr = new StringBuilder();
        var xorg = new Process { StartInfo = start };
        xorg.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                if (stderr.Length < 64 * 1024)
                {
                    stderr.AppendLine(e.Data);
                }
            }
        };
        xorg.Start();
        xorg.BeginErrorReadLine();
        var server = new XspiceServer(xorg, directory, stderr, port);
        try
        {
            // -displayfd: Xorg writes the display number once it is ready; spiceqxl is listening by then.
            var line = await xorg.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            if (line is null || !int.TryParse(line.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var display))
            {
                await xorg.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
                throw new InvalidOperationException($"Xspice did not start (exit code {xorg.ExitCode}).\n{server.Diagnostics()}");
            }

            server.Display = display;
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await probe.ConnectAsync(server.EndPoint, cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            return server;
        }
        catch (Exception ex) when (ex is not InvalidOperationException)
        {
            var diagnostics = server.Diagnostics();
            await server.DisposeAsync();
            throw new InvalidOperationException($"Xspice did not become ready on port {port}: {ex.Message}\n{diagnostics}", ex);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts an X client (xterm, xdotool, …) on this display; it is killed on dispose.</summary>
    public Process StartClient(string fileName, params string[] args)
    {
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DISPLAY"] = ":" + Display.ToString(CultureInfo.InvariantCulture);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        _clients.Add(process);
        return process;
    }

    /// <summary>Runs an X client (xdotool, xsetroot, …) on this display to its end and returns its standard output.</summary>
    public async Task<string> RunClientAsync(string fileName, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DISPLAY"] = ":" + Display.ToString(CultureInfo.InvariantCulture);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken).WaitAsync(timeout, cancellationToken);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} exited {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    /// <summary>
    /// Waits until a window named <paramref name="name"/> is mapped on this display (xdotool's --sync search: it returns
    /// as soon as the window exists and is viewable).
    /// </summary>
    public async Task WaitForWindowAsync(string name, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("xdotool") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DISPLAY"] = ":" + Display.ToString(CultureInfo.InvariantCulture);
        foreach (var arg in new[] { "search", "--sync", "--onlyvisible", "--name", "^" + name + "$" })
        {
            start.ArgumentList.Add(arg);
        }

        using var search = Process.Start(start) ?? throw new InvalidOperationException("Could not start xdotool (install xdotool).");
        var output = search.StandardOutput.ReadToEndAsync(cancellationToken);
        try
        {
            await search.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch (TimeoutException)
        {
            search.Kill();
            throw new InvalidOperationException($"No window named '{name}' was mapped on :{Display} within 30 s.");
        }

        if (search.ExitCode != 0 || string.IsNullOrWhiteSpace(await output))
        {
            throw new InvalidOperationException($"xdotool search for '{name}' failed (exit {search.ExitCode}).");
        }
    }

    public string Diagnostics()
    {
        string err;
        lock (_stderr)
        {
            err = _stderr.ToString();
        }

        var log = Path.Combine(_directory, "Xorg.log");
        var logTail = File.Exists(log) ? string.Join('\n', File.ReadLines(log).TakeLast(30)) : "(no log)";
        return $"--- Xorg stderr ---\n{err}\n--- Xorg.log (tail) ---\n{logTail}";
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            await StopAsync(client, graceful: false);
        }

        await StopAsync(_xorg, graceful: true);
        _xorg.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static async Task StopAsync(Process process, bool graceful)
    {
        try
        {
            if (process.HasExited)
            {
                return;
            }

            if (graceful)
            {
                // SIGTERM lets Xorg remove its lock file and socket.
                _ = Kill(process.Id, SigTerm);
                try
                {
                    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
                    return;
                }
                catch (TimeoutException)
                {
                }
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
    }

    private static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static string Config(int port, IReadOnlyDictionary<string, string>? deviceOptions)
        => Accel.Edge.Demo.XspiceConfig.Build(port, [new("SpiceAddr", "127.0.0.1"), .. deviceOptions ?? new Dictionary<string, string>()]);

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
