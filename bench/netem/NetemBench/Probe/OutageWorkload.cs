using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using NetemLink;

namespace NetemBench.Probe;

/// <summary>
/// The outage workload (issue #11): a live session types through a total outage of the link (every packet dropped both
/// ways) of each asked length, and through a change of the client's address; one fresh probe session per scenario.
/// Per scenario: did the session survive, did every key typed meanwhile reach the server exactly once and in order
/// (the typing xterm runs <c>cat &gt; file</c>, so the file holds what the server received), and how long after the
/// link's return (the address change) the next echo arrived at the client.
/// </summary>
public static class OutageWorkload
{
    public const string Workload = "outage";

    /// <summary>Outage lengths when <c>--outage-seconds</c> is not given.</summary>
    public static readonly int[] DefaultSeconds = [5, 30, 120];

    /// <summary>The figure prefix of the address change scenario.</summary>
    public const string AddressChange = "addressChange";

    /// <summary>The figure prefix of the route change scenario (the branch's own address changes).</summary>
    public const string RouteChange = "routeChange";

    /// <summary>One key every this long, during the outage and after it until the next echo: a steady typist.</summary>
    private static readonly TimeSpan s_keyInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How long keys are typed after the address change (it stays changed until the scenario ends).</summary>
    private static readonly TimeSpan s_afterChange = TimeSpan.FromSeconds(3);

    // Distinct keys in a fixed cycle, so a key lost, doubled or reordered changes what the server receives.
    private const string Keys = "qwertyuiopasdfghjklzxcvbnm1234567890";
    private const uint ScancodeReturn = 0x1C;

    /// <summary>The figure prefix of an outage of <paramref name="seconds"/>.</summary>
    public static string Prefix(int seconds) => $"outage{seconds.ToString(CultureInfo.InvariantCulture)}s";

    /// <summary>An upper bound of one run (every scenario at its slowest), for the runner's per-sample bound.</summary>
    public static TimeSpan Bound(IReadOnlyList<int> seconds)
        => TimeSpan.FromSeconds(seconds.Sum(s => (2 * s) + 150) + 200);

    public static async Task<Sample> RunAsync(XspiceServer xspice, Topology topology, string host, int port, string logDir,
        IReadOnlyList<int> seconds, Action<string> progress, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        var values = new Dictionary<string, double>();
        var errors = new List<string>();
        var scenarios = seconds.Select(s => (Prefix(s), (int?)s)).Append((AddressChange, null)).Append((RouteChange, null));
        foreach (var (prefix, outage) in scenarios)
        {
            try
            {
                var r = await ScenarioAsync(xspice, topology, new IPEndPoint(IPAddress.Parse(host), port), logDir, outage, prefix == RouteChange, ct);
                values[prefix + ".survived"] = r.Survived ? 1 : 0;
                values[prefix + ".keysTyped"] = r.KeysTyped;
                values[prefix + ".keysExact"] = r.KeysExact ? 1 : 0;
                values[prefix + ".recoveryMs"] = r.RecoveryMs;
                progress($"      {prefix}: survived {(r.Survived ? "yes" : "no")}, {r.KeysTyped} keys typed, "
                    + $"received exactly once in order: {(r.KeysExact ? "yes" : "no")}, next echo {(double.IsNaN(r.RecoveryMs) ? "never" : $"{r.RecoveryMs:0} ms")} after "
                    + (outage is null ? "the change" : "the link returned") + $" at {r.ReturnedAt:HH:mm:ss.fff}" + (r.Note is { } n ? $" ({n})" : ""));
            }
            catch (Exception ex) when (ex is IOException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException
                or Accel.Core.Spice.Protocol.SpiceProtocolException)
            {
                // The scenario could not be set up (no session before the outage): a failure of the run, not a result —
                // unless the contender lost a session in an earlier scenario and never came back (kcptun after the address
                // change): then this scenario is not run, and said so.
                if (values.Any(v => v.Key.EndsWith(".survived", StringComparison.Ordinal) && v.Value == 0))
                {
                    progress($"      {prefix}: not run — no session after an earlier scenario's loss ({ex.Message})");
                    continue;
                }

                errors.Add($"{prefix}: {ex.Message}");
            }
        }

        return new Sample(errors.Count == 0, sw.Elapsed.TotalSeconds, 0, errors.Count == 0 ? null : string.Join("; ", errors)) { Values = values };
    }

    private sealed record ScenarioResult(bool Survived, int KeysTyped, bool KeysExact, double RecoveryMs, string? Note)
    {
        /// <summary>When the link returned (the address changed), for reading the contenders' logs.</summary>
        public DateTime ReturnedAt { get; init; }
    }

    private static async Task<ScenarioResult> ScenarioAsync(XspiceServer xspice, Topology topology, IPEndPoint server, string logDir, int? outage,
        bool route, CancellationToken ct)
    {
        var file = Path.Combine(logDir, $"outage-typed-{Guid.NewGuid():N}.txt");
        var region = xspice.TypingRegion;
        xspice.PointerToTypingWindow();
        ServerKeys(xspice, "ctrl+c");
        await using var probe = await SpiceProbe.ConnectAsync(topology.BranchNs, server, TimeSpan.FromSeconds(60), ct);
        // The typing xterm's shell copies every line it receives to the file: what reached the server, in order.
        Shell.Check("ip", "netns", "exec", xspice.Namespace, "env", "DISPLAY=:" + xspice.Display.ToString(CultureInfo.InvariantCulture),
            "xdotool", "type", "--delay", "5", $"cat > {file}");
        ServerKeys(xspice, "Return");
        await QuietAsync(probe, region, ct);
        var typed = new StringBuilder();
        for (var i = 0; i < 2; i++)
        {
            // Before the outage each key must echo: the session works.
            var echo = probe.NextDrawAsync(region);
            await TypeAsync(probe, typed, ct);
            await echo.WaitAsync(TimeSpan.FromSeconds(5), ct);
            await QuietAsync(probe, region, ct);
        }

        var before = typed.Length;
        string? broken = null;
        long returned;
        var returnedAt = DateTime.UtcNow;
        Task<long> next;
        using (var disturbance = outage is not null ? LinkCut.Start(topology) : route ? RouteMove.Start(topology) : AddressMove.Start(topology))
        {
            var phase = outage is { } s ? TimeSpan.FromSeconds(s) : s_afterChange;
            // After an address change the next echo is timed from the change; after an outage from the link's return.
            next = probe.NextDrawAsync(region);
            returned = Stopwatch.GetTimestamp();
            returnedAt = DateTime.UtcNow;
            for (var start = Stopwatch.GetTimestamp(); Stopwatch.GetElapsedTime(start) < phase && broken is null;)
            {
                broken = await TypeAsync(probe, typed, ct) ?? probe.BrokenReason();
                await Task.Delay(s_keyInterval, ct);
            }

            if (outage is not null)
            {
                disturbance.Dispose();
                next = probe.NextDrawAsync(region);
                returned = Stopwatch.GetTimestamp();
                returnedAt = DateTime.UtcNow;
            }

            // Keep typing until the next echo (bounded): a typist whose keys show nothing keeps going.
            var bound = TimeSpan.FromSeconds(30 + (outage ?? 0));
            while (!next.IsCompleted && broken is null && Stopwatch.GetElapsedTime(returned) < bound)
            {
                broken = await TypeAsync(probe, typed, ct) ?? probe.BrokenReason();
                await Task.WhenAny(next, Task.Delay(s_keyInterval, ct));
            }

            var recoveryMs = next.IsCompletedSuccessfully ? Stopwatch.GetElapsedTime(returned, next.Result).TotalMilliseconds : double.NaN;
            var arrived = "";
            if (broken is null && next.IsCompletedSuccessfully)
            {
                // The line ends: the file gets what the server received.
                await QuietAsync(probe, region, ct);
                broken = await SendAsync(probe, ScancodeReturn, ct);
                for (var t = Stopwatch.StartNew(); broken is null && t.Elapsed < TimeSpan.FromSeconds(30) && !arrived.EndsWith('\n'); await Task.Delay(100, ct))
                {
                    arrived = File.Exists(file) ? await File.ReadAllTextAsync(file, ct) : "";
                }
            }

            broken ??= probe.BrokenReason();
            ServerKeys(xspice, "ctrl+c");
            var expected = typed + "\n";
            var exact = arrived == expected;
            var note = broken ?? (double.IsNaN(recoveryMs) ? "no echo" : exact ? null : $"server received {Describe(arrived, expected)}");
            return new ScenarioResult(broken is null && arrived.EndsWith('\n'), typed.Length - before, exact, recoveryMs, note) { ReturnedAt = returnedAt };
        }
    }

    /// <summary>Types the next key of the cycle; null when sent, else why the session is broken.</summary>
    private static async Task<string?> TypeAsync(SpiceProbe probe, StringBuilder typed, CancellationToken ct)
    {
        var c = Keys[typed.Length % Keys.Length];
        var broken = await SendAsync(probe, Scancode(c), ct);
        if (broken is null)
        {
            typed.Append(c);
        }

        return broken;
    }

    private static async Task<string?> SendAsync(SpiceProbe probe, uint scancode, CancellationToken ct)
    {
        try
        {
            await probe.SendKeyAsync(scancode, ct);
            return null;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            return "the inputs channel failed: " + ex.Message;
        }
    }

    /// <summary>PC AT (set 1) scancodes of the keys of the cycle, US layout.</summary>
    public static uint Scancode(char c)
    {
        const string Top = "qwertyuiop", Home = "asdfghjkl", Bottom = "zxcvbnm", Digits = "1234567890";
        return Top.IndexOf(c) is >= 0 and var t ? 0x10u + (uint)t
            : Home.IndexOf(c) is >= 0 and var h ? 0x1Eu + (uint)h
            : Bottom.IndexOf(c) is >= 0 and var b ? 0x2Cu + (uint)b
            : Digits.IndexOf(c) is >= 0 and var d ? 0x02u + (uint)d
            : throw new ArgumentOutOfRangeException(nameof(c), c, "no scancode for this key");
    }

    /// <summary>What differs between what the server received and what was typed, in a few words.</summary>
    public static string Describe(string arrived, string expected)
    {
        var common = 0;
        while (common < arrived.Length && common < expected.Length && arrived[common] == expected[common])
        {
            common++;
        }

        return $"{arrived.Length} of {expected.Length} characters, first difference at {common}";
    }

    /// <summary>Waits until the region has had no draw for 300 ms (at most 10 s).</summary>
    private static async Task QuietAsync(SpiceProbe probe, ScreenRect region, CancellationToken ct)
    {
        for (var t = Stopwatch.StartNew(); t.Elapsed < TimeSpan.FromSeconds(10);)
        {
            var draw = probe.NextDrawAsync(region);
            if (await Task.WhenAny(draw, Task.Delay(300, ct)) != draw)
            {
                return;
            }
        }
    }

    private static void ServerKeys(XspiceServer xspice, string keys)
        => Shell.Check("ip", "netns", "exec", xspice.Namespace, "env", "DISPLAY=:" + xspice.Display.ToString(CultureInfo.InvariantCulture), "xdotool", "key", keys);

    /// <summary>A total outage: both directions drop every packet until disposed (then the profile's parameters return).</summary>
    private sealed class LinkCut : IDisposable
    {
        private readonly Topology _topology;
        private readonly DirectionParameters _up;
        private readonly DirectionParameters _down;
        private bool _disposed;

        private LinkCut(Topology topology)
        {
            _topology = topology;
            _up = topology.Up.Parameters;
            _down = topology.Down.Parameters;
            topology.Up.Parameters = _up with { Loss = 1, Burst = null };
            topology.Down.Parameters = _down with { Loss = 1, Burst = null };
        }

        public static IDisposable Start(Topology topology) => new LinkCut(topology);

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                _topology.Up.Parameters = _up;
                _topology.Down.Parameters = _down;
            }
        }
    }

    /// <summary>
    /// The client's address changes (Wi-Fi → LTE, a NAT that rebinds): from now on the data centre sees every branch
    /// packet come from another address, and packets to the old one are dropped. Done by stateless nftables rewriting in
    /// the branch namespace (like a NAT in front of it), so the branch's own sockets do not notice, as behind a real NAT.
    /// </summary>
    private sealed class AddressMove : IDisposable
    {
        private const string Table = "sa_outage_move";
        private readonly Topology _topology;
        private readonly string _moved;

        private AddressMove(Topology topology, string moved)
        {
            _topology = topology;
            _moved = moved;
        }

        public static IDisposable Start(Topology topology)
        {
            var br = topology.BranchAddress.ToString();
            var dc = topology.DataCentreAddress.ToString();
            var b = topology.BranchAddress.GetAddressBytes();
            var moved = $"{b[0]}.{b[1]}.{b[2]}.5";
            Shell.Check("ip", "-n", topology.DataCentreNs, "route", "add", moved + "/32", "dev", "sad" + topology.Id);
            var rules = $"table ip {Table} {{\n"
                + $" chain out {{ type filter hook output priority -300; ip saddr {br} ip daddr {dc} ip saddr set {moved}; }}\n"
                + $" chain in {{ type filter hook prerouting priority -300; ip saddr {dc} ip daddr {br} drop; ip saddr {dc} ip daddr {moved} ip daddr set {br}; }}\n}}\n";
            var script = Path.Combine(Path.GetTempPath(), $"sa-outage-move-{topology.Id}.nft");
            File.WriteAllText(script, rules);
            try
            {
                Shell.Check("ip", "netns", "exec", topology.BranchNs, "nft", "-f", script);
            }
            finally
            {
                File.Delete(script);
            }

            return new AddressMove(topology, moved);
        }

        public void Dispose()
        {
            Shell.Run("ip", "netns", "exec", _topology.BranchNs, "nft", "delete", "table", "ip", Table);
            Shell.Run("ip", "-n", _topology.DataCentreNs, "route", "del", _moved + "/32");
        }
    }

    /// <summary>
    /// The branch's own address changes (Wi-Fi → LTE as the branch host sees it): it gets 10.250.X.5, the route to the
    /// data centre takes that as its source, and 10.250.X.1 is removed. Every socket of the branch that used the old
    /// address (a TCP connection, a connected UDP socket) is left with an address the host no longer has; the viewer's
    /// own leg to a contender's local listener is on loopback and stays.
    /// </summary>
    private sealed class RouteMove : IDisposable
    {
        private readonly Topology _topology;
        private readonly string _moved;

        private RouteMove(Topology topology, string moved)
        {
            _topology = topology;
            _moved = moved;
        }

        private string BranchTun => "sab" + _topology.Id;

        public static IDisposable Start(Topology topology)
        {
            var b = topology.BranchAddress.GetAddressBytes();
            var move = new RouteMove(topology, $"{b[0]}.{b[1]}.{b[2]}.5");
            var dc = topology.DataCentreAddress + "/32";
            Shell.Check("ip", "-n", topology.DataCentreNs, "route", "add", move._moved + "/32", "dev", "sad" + topology.Id);
            Shell.Check("ip", "-n", topology.BranchNs, "addr", "add", move._moved + "/32", "dev", move.BranchTun);
            Shell.Check("ip", "-n", topology.BranchNs, "route", "add", dc, "dev", move.BranchTun, "src", move._moved);
            Shell.Check("ip", "-n", topology.BranchNs, "addr", "del", topology.BranchAddress + "/30", "dev", move.BranchTun);
            return move;
        }

        public void Dispose()
        {
            Shell.Run("ip", "-n", _topology.BranchNs, "addr", "add", _topology.BranchAddress + "/30", "dev", BranchTun);
            Shell.Run("ip", "-n", _topology.BranchNs, "route", "del", _topology.DataCentreAddress + "/32");
            Shell.Run("ip", "-n", _topology.BranchNs, "addr", "del", _moved + "/32", "dev", BranchTun);
            Shell.Run("ip", "-n", _topology.DataCentreNs, "route", "del", _moved + "/32");
        }
    }
}
