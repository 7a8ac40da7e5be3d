using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NetemBench.Probe;
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

    /// <summary>True when display <paramref name="d"/> has a lock file naming a running process.</summary>
    private static bool DisplayInUse(int d)
    {
        var lockFile = $"/tmp/.X{d}-lock";
        if (!File.Exists(lockFile))
        {
            return false; // a socket file without a lock is stale too: Xorg removes it when it binds
        }

        try
        {
            var text = File.ReadAllText(lockFile).Trim();
            return !int.TryParse(text, out var pid) || Directory.Exists($"/proc/{pid}");
        }
        catch (IOException)
        {
            return true;
        }
    }

    public static async Task<XspiceServer> StartAsync(string ns, string runDir, CancellationToken ct)
    {
        // Lock files in /tmp are shared by all namespaces: pick a free display number. A lock whose Xorg is gone (a
        // killed run) counts as free: Xorg itself replaces a stale lock and socket.
        var display = Enumerable.Range(150, 100).FirstOrDefault(d => !DisplayInUse(d));
        if (display == 0)
        {
            throw new InvalidOperationException("no free X display in :150–:249 (every one has a live Xorg)");
        }

        var server = new XspiceServer(ns, display);
        var conf = Path.Combine(runDir, $"xspice-{ns}.conf");
        await File.WriteAllTextAsync(conf, XorgConfig(SpicePort), ct);
        try
        {
            server._processes.Add(NsProcess.Start("Xorg", ns, Path.Combine(runDir, $"xorg-{ns}.out"), null,
                "Xorg", "-config", conf, "-logfile", Path.Combine(runDir, $"xorg-{ns}.log"), "-noreset", ":" + display));
            await WaitForTcpAsync(ns, IPAddress.Loopback, SpicePort, TimeSpan.FromSeconds(20), ct);
            await WaitForX(server, ct);
            // The typing xterm (top left), and a clock that ticks every second at the bottom right: an idle desktop.
            server._processes.Add(NsProcess.Start("xterm", ns, Path.Combine(runDir, "xterm.out"), server.Env,
                "xterm", "-T", "typer", "-geometry", "80x16+0+0", "-fa", "Monospace", "-fs", "12", "-e", "bash", "--norc", "--noprofile"));
            server.TypingRegion = await server.WaitForWindowAsync("typer", ct);
            // Key-to-echo watches draws that touch the typing window: nothing else may draw there (the side xterms are
            // checked when they start).
            if (server.TypingRegion.Intersects(Geometry.Parse(ProbeWorkloads.AnimationGeometry)))
            {
                throw new InvalidOperationException($"the typing xterm ({server.TypingRegion}) overlaps the animation ({ProbeWorkloads.AnimationGeometry}): fonts larger than expected");
            }

            // Twelve empty lines: the prompt (where typing echoes) moves to line 13 or below, clear of the strip at the
            // top that remote-viewer's full-screen toolbar covers in the spice-gtk cross-check.
            server.PointerToTypingWindow();
            Shell.Check("ip", "netns", "exec", ns, "env", "DISPLAY=:" + display, "xdotool", "key", "--delay", "5",
                "Return", "Return", "Return", "Return", "Return", "Return", "Return", "Return", "Return", "Return", "Return", "Return");
            server._processes.Add(NsProcess.Start("xclock", ns, Path.Combine(runDir, "xclock.out"), server.Env,
                "xclock", "-update", "1", "-geometry", "100x100+900+640"));
            await server.WaitForWindowAsync("xclock", ct);
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>The typing xterm's window on the screen (probe key-to-echo watches draws that touch it).</summary>
    public ScreenRect TypingRegion { get; private set; }

    /// <summary>Puts the pointer in the middle of the typing xterm: with no window manager, keys go to the window under it.</summary>
    public void PointerToTypingWindow()
    {
        var r = TypingRegion;
        Shell.Check("ip", "netns", "exec", Namespace, "env", "DISPLAY=:" + Display, "xdotool", "mousemove",
            ((r.Left + r.Right) / 2).ToString(CultureInfo.InvariantCulture), ((r.Top + r.Bottom) / 2).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A second xterm below the typing one that scrolls a long text at about 25 lines per second until killed.</summary>
    public Task<NsProcess> StartScrollerAsync(string logDir, CancellationToken ct)
    {
        const string Script = "$|=1; open(my $f, '<', '/usr/share/common-licenses/GPL-3') or die $!; my @l = <$f>; "
            + "while (1) { for (@l) { print; select(undef, undef, undef, 0.04); } }";
        return StartSideTerminalAsync("scroller", ProbeWorkloads.ScrollerTerminal, logDir, ["perl", "-e", Script], ct);
    }

    /// <summary>
    /// A second, larger xterm below the typing one that prints without pause until killed, like a build log: license
    /// texts, over and over, as fast as xterm takes them. xterm's jump scroll redraws its window as fast as the X server
    /// goes, so the display channel always has more to send than a WAN link carries.
    /// </summary>
    public Task<NsProcess> StartFloodAsync(string logDir, CancellationToken ct)
    {
        const string Script = "while :; do cat /usr/share/common-licenses/GPL-3 /usr/share/common-licenses/Apache-2.0; done";
        return StartSideTerminalAsync("flood", ProbeWorkloads.FloodTerminal, logDir, ["sh", "-c", Script], ct);
    }

    /// <summary>Starts an xterm titled <paramref name="title"/> running <paramref name="command"/>; checks that its window keeps clear of the typing xterm.</summary>
    private async Task<NsProcess> StartSideTerminalAsync(string title, string terminalGeometry, string logDir, string[] command, CancellationToken ct)
    {
        var p = NsProcess.Start(title, Namespace, Path.Combine(logDir, title + ".out"), Env,
            ["xterm", "-T", title, "-geometry", terminalGeometry, "-fa", "Monospace", "-fs", "12", "-e", .. command]);
        try
        {
            var window = await WaitForWindowAsync(title, ct);
            // Key-to-echo watches draws that touch the typing window: nothing else may draw there.
            if (window.Intersects(TypingRegion))
            {
                throw new InvalidOperationException($"the {title} xterm ({window}) overlaps the typing xterm ({TypingRegion}): fonts larger than expected");
            }

            return p;
        }
        catch
        {
            p.Dispose();
            throw;
        }
    }

    /// <summary>Polls xwininfo (bounded, 10 s) until a window with this name is mapped; returns its rectangle.</summary>
    public async Task<ScreenRect> WaitForWindowAsync(string name, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var (rc, output) = Shell.Run("ip", "netns", "exec", Namespace, "env", "DISPLAY=:" + Display, "xwininfo", "-name", name);
            if (rc == 0 && output.Contains("IsViewable", StringComparison.Ordinal))
            {
                int Field(string label) => int.Parse(output.Split('\n').First(l => l.Trim().StartsWith(label, StringComparison.Ordinal)).Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                return ScreenRect.FromGeometry(Field("Absolute upper-left X"), Field("Absolute upper-left Y"), Field("Width"), Field("Height"));
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"window '{name}' not mapped on :{Display} within 10 s: {output.Trim()}");
            }

            await Task.Delay(100, ct);
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
