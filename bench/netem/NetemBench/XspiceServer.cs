using System.Net;
using System.Net.Sockets;
using NetemLink;

namespace NetemBench;

/// <summary>Xorg + spiceqxl (a real spice-server) with xterm and xclock, all inside the data-centre namespace.</summary>
public sealed class XspiceServer : IDisposable
{
    public const int SpicePort = 5930;
    private readonly List<NsProcess> _processes = [];

    private XspiceServer(string ns, int display)
    {
        Namespace = ns;
        Display = display;
    }

    public string Namespace { get; }
    public int Display { get; }
    public NsProcess Xorg => _processes[0];
    public IReadOnlyDictionary<string, string> Env => new Dictionary<string, string> { ["DISPLAY"] = ":" + Display };

    public static async Task<XspiceServer> StartAsync(string ns, string runDir, CancellationToken ct)
    {
        // Lock files in /tmp are shared by all namespaces: pick a free display number.
        var display = Enumerable.Range(150, 100).First(d => !File.Exists($"/tmp/.X{d}-lock") && !File.Exists($"/tmp/.X11-unix/X{d}"));
        var server = new XspiceServer(ns, display);
        var conf = Path.Combine(runDir, $"xspice-{ns}.conf");
        await File.WriteAllTextAsync(conf, XorgConfig(SpicePort), ct);
        try
        {
            server._processes.Add(NsProcess.Start("Xorg", ns, Path.Combine(runDir, $"xorg-{ns}.out"), null,
                "Xorg", "-config", conf, "-logfile", Path.Combine(runDir, $"xorg-{ns}.log"), "-noreset", ":" + display));
            await WaitForTcpAsync(ns, IPAddress.Loopback, SpicePort, TimeSpan.FromSeconds(20), ct);
            await WaitForX(server, ct);
            server._processes.Add(NsProcess.Start("xterm", ns, Path.Combine(runDir, "xterm.out"), server.Env,
                "xterm", "-geometry", "100x30+20+20", "-fa", "Monospace", "-fs", "12", "-e", "bash", "--norc", "--noprofile"));
            server._processes.Add(NsProcess.Start("xclock", ns, Path.Combine(runDir, "xclock.out"), server.Env,
                "xclock", "-update", "1", "-geometry", "200x200+800+20"));
            await Task.Delay(1500, ct); // let the clients map their windows before the first screenshot
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private static async Task WaitForX(XspiceServer server, CancellationToken ct)
    {
        for (var i = 0; i < 100; i++)
        {
            var (rc, _) = Shell.Run("ip", "netns", "exec", server.Namespace, "env", "DISPLAY=:" + server.Display, "xdotool", "getdisplaygeometry");
            if (rc == 0)
            {
                return;
            }

            await Task.Delay(100, ct);
        }

        throw new TimeoutException("X display did not come up");
    }

    public static async Task WaitForTcpAsync(string ns, IPAddress address, int port, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            using var s = Netns.CreateSocket(ns, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await s.ConnectAsync(new IPEndPoint(address, port), ct).AsTask().WaitAsync(TimeSpan.FromSeconds(2), ct);
                return;
            }
            catch (Exception ex) when (ex is SocketException or TimeoutException)
            {
                await Task.Delay(100, ct);
            }
        }

        throw new TimeoutException($"{address}:{port} in {ns} not listening after {timeout}");
    }

    public double CpuSeconds() => Xorg.CpuSeconds();

    public void Dispose()
    {
        for (var i = _processes.Count - 1; i >= 0; i--)
        {
            _processes[i].Dispose();
        }
    }

    private static string XorgConfig(int port) => Accel.Edge.Demo.XspiceConfig.Build(port);
}
