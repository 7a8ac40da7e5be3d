using System.Diagnostics;
using NetemBench;
using NetemLink;

var verb = args.Length > 0 ? args[0] : "help";
Dictionary<string, string> opts;
try
{
    opts = ParseArgs(args.Skip(1).ToArray());
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine($"NetemBench: {ex.Message} (NetemBench help lists the options)");
    return 2;
}

var root = FindBenchDir();

switch (verb)
{
    case "cleanup":
        return Cleanup();
    case "run":
        return await RunAsync();
    case "probe":
        return await ProbeAsync();
    default:
        Console.WriteLine("""
            usage: NetemBench run [--profiles a,b] [--contenders plain,kcptun,spiceaccel]
                                  [--workloads connect,typing,typing-gtk,scrolling,slideshow,animation,mixed,flood,step,update,outage]
                                  [--outage-seconds 5,30,120] [--repeat N] [--quick] [--out DIR] [--profile-dir DIR]
                                  [--spiceaccel-server "CMD"] [--spiceaccel-client "CMD"] [--spiceaccel-server-args "ARGS"] [--spiceaccel-dll PATH]
                   NetemBench probe --host H --port P [--ns NS] [--keys N] [--region WxH+X+Y] [--pointer-seconds S] [--watch-seconds S] [--trace]
                                    one SPICE session with the bench's probe client: time to the first screen,
                                    key-to-echo into the window under the pointer, pointer motions sent, animation frames seen (NetemDesk animate at its default place)
                   NetemBench cleanup [--all]   remove sa-br-*/sa-dc-* namespaces (and their processes) whose
                                                creating process is dead; --all removes every one
            placeholders in contender commands: {dcAddr} {brAddr} {spicePort} {wanPort} {localPort}
            """);
        return verb == "help" ? 0 : 2;
}

int Cleanup()
{
    foreach (var ns in Topology.RemoveStale(all: opts.ContainsKey("all")))
    {
        Console.WriteLine($"removed {ns}");
    }

    return 0;
}

async Task<int> RunAsync()
{
    var quick = opts.ContainsKey("quick");
    var contenders = (Get("contenders", "plain,kcptun,spiceaccel")).Split(',').Select<string, IContender>(c => c switch
    {
        "plain" => new PlainContender(),
        "kcptun" => CommandContender.Kcptun(),
        "spiceaccel" => opts.ContainsKey("spiceaccel-server") || opts.ContainsKey("spiceaccel-client")
            ? CommandContender.SpiceAccel(opts.GetValueOrDefault("spiceaccel-server"), opts.GetValueOrDefault("spiceaccel-client"))
            : CommandContender.SpiceAccelBuilt(serverArgs: opts.GetValueOrDefault("spiceaccel-server-args") ?? "", dll: opts.GetValueOrDefault("spiceaccel-dll")),
        _ => throw new ArgumentException($"unknown contender {c}"),
    }).ToList();
    var outDir = Get("out", Path.Combine(root, "reports", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss")));
    Directory.CreateDirectory(outDir);
    var options = new RunOptions
    {
        Profiles = Get("profiles", quick ? "branch" : "lan,branch,lossy-wan,intercontinental,thin-branch,mobile").Split(','),
        Contenders = contenders,
        Workloads = Get("workloads", quick ? "connect,typing,animation" : "connect,typing,typing-gtk,scrolling,slideshow,animation,mixed,flood").Split(','),
        Repeat = int.Parse(Get("repeat", quick ? "1" : "3")),
        ProfileDir = Get("profile-dir", Path.Combine(root, "profiles")),
        ReportDir = outDir,
        ProbeCount = quick ? 150 : 400,
        MeasureRate = !quick,
        Probe = quick ? NetemBench.Probe.ProbeSettings.Quick : NetemBench.Probe.ProbeSettings.Full,
        OutageSeconds = opts.TryGetValue("outage-seconds", out var outages)
            ? outages.Split(',').Select(o => int.TryParse(o, out var n) && n > 0 ? n : throw new ArgumentException($"--outage-seconds: {o} is not a number of seconds")).ToArray()
            : NetemBench.Probe.OutageWorkload.DefaultSeconds,
    };

    using var cts = new CancellationTokenSource();
    Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        Console.Error.WriteLine("cancelling; tearing down namespaces");
        cts.Cancel();
    };
    using var term = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
    {
        ctx.Cancel = true;
        cts.Cancel();
    });

    var command = "NetemBench " + string.Join(' ', args);
    var sw = Stopwatch.StartNew();
    try
    {
        var results = await new Runner(options, line => Console.WriteLine($"{ProgressClock.Format(sw.Elapsed)} {line}")).RunAsync(cts.Token);
        Report.Write(outDir, command, results);
        Console.WriteLine(File.ReadAllText(Path.Combine(outDir, "report.md")));
        Console.WriteLine($"report: {outDir}/report.md, {outDir}/report.json");
        var failed = results.SelectMany(r => r.Rows).Any(r => r.Status.StartsWith("failed", StringComparison.Ordinal) || (r.Runs > 0 && r.Ok < r.Runs));
        return failed ? 1 : 0;
    }
    catch (OperationCanceledException)
    {
        Console.Error.WriteLine("cancelled");
        return 130;
    }
    finally
    {
        foreach (var t in Runner.ActiveTopologies.ToList())
        {
            t.Dispose();
        }
    }
}

async Task<int> ProbeAsync()
{
    using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
    var endPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(Get("host", "127.0.0.1")), int.Parse(Get("port", "5900")));
    await using var probe = await NetemBench.Probe.SpiceProbe.ConnectAsync(opts.GetValueOrDefault("ns"), endPoint, TimeSpan.FromSeconds(30), cts.Token,
        NetemBench.Probe.ProbeFrames.PictureFor("animation"));
    Console.WriteLine($"first screen (DISPLAY_MARK) after {probe.FirstScreenSeconds:0.000} s");
    if (opts.ContainsKey("trace"))
    {
        probe.TraceRegionDraws = line => Console.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
    }

    var region = Geometry.Parse(Get("region", "1024x768+0+0"));
    var keys = int.Parse(Get("keys", "20"));
    if (keys > 0)
    {
        var echo = await probe.MeasureKeyEchoAsync(keys, region, TimeSpan.FromSeconds(3), cts.Token);
        var s = Stats.Of(echo.LatenciesMs);
        Console.WriteLine($"key-to-echo over {region}: n={s.Count} p50={s.P50:0.0} p95={s.P95:0.0} p99={s.P99:0.0} max={s.Max:0.0} ms, {echo.Timeouts} of {echo.Keys} without echo");
    }

    var seconds = double.Parse(Get("pointer-seconds", "0"), System.Globalization.CultureInfo.InvariantCulture);
    if (seconds > 0)
    {
        var run = await probe.MovePointerAsync(((region.Left + region.Right) / 2, (region.Top + region.Bottom) / 2), TimeSpan.FromSeconds(seconds), 125, 3, cts.Token);
        Console.WriteLine($"pointer: {run.MovesRequested} moves, {run.MotionsSent} {(probe.ClientMouseMode ? "MOUSE_POSITION" : "MOUSE_MOTION")} sent in {(run.EndUnixMs - run.StartUnixMs) / 1000.0:0.00} s");
    }

    var watch = double.Parse(Get("watch-seconds", "0"), System.Globalization.CultureInfo.InvariantCulture);
    if (watch > 0)
    {
        var series = new Dictionary<string, List<double>>();
        var values = new Dictionary<string, double>();
        var errors = new List<string>();
        await NetemBench.Probe.ProbeFrames.WatchAsync(probe.Picture!, "animation", TimeSpan.FromSeconds(watch), series, values, errors, cts.Token);
        var s = Stats.Of(series["markerLatencyMs"]);
        var f = Stats.Of(series["freshnessMs"]);
        var q = Stats.Of(series["motionPsnrDb"]);
        Console.WriteLine($"animation frames: {values["markersPerSecond"]:0.0}/s, drawn → visible p50={s.P50:0} p99={s.P99:0} max={s.Max:0} ms, "
            + $"freshness p50={f.P50:0} p95={f.P95:0} ms, PSNR p50={q.P50:0.0} dB, {string.Join("; ", errors)}");
    }

    Console.WriteLine($"display: {probe.DisplayMessages} messages ({probe.DrawMessages} draws on the primary surface), {probe.DisplayBytes / 1024.0:0.0} KiB");
    return 0;
}

string Get(string key, string fallback) => opts.TryGetValue(key, out var v) && v.Length > 0 ? v : fallback;

static Dictionary<string, string> ParseArgs(string[] a)
{
    // Options that take a value take the next argument even when it starts with "--" (server arguments do); an
    // unknown option is an error, not silently a setting nobody reads.
    string[] valued = ["profiles", "contenders", "workloads", "repeat", "out", "profile-dir", "spiceaccel-server", "spiceaccel-client",
        "spiceaccel-server-args", "spiceaccel-dll", "outage-seconds", "host", "port", "ns", "keys", "region", "pointer-seconds", "watch-seconds"];
    string[] flags = ["quick", "all", "trace"];
    var d = new Dictionary<string, string>();
    for (var i = 0; i < a.Length; i++)
    {
        if (!a[i].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"unexpected argument {a[i]}");
        }

        var eq = a[i].IndexOf('=', StringComparison.Ordinal);
        var key = eq > 2 ? a[i][2..eq] : a[i][2..];
        if (!valued.Contains(key) && !flags.Contains(key))
        {
            throw new ArgumentException($"unknown option --{key}");
        }

        if (eq > 2)
        {
            d[key] = a[i][(eq + 1)..];
        }
        else if (valued.Contains(key))
        {
            d[key] = i + 1 < a.Length ? a[++i] : throw new ArgumentException($"--{key} needs a value");
        }
        else
        {
            d[key] = "";
        }
    }

    return d;
}

static string FindBenchDir()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        var candidate = Path.Combine(dir.FullName, "bench", "netem", "profiles");
        if (Directory.Exists(candidate))
        {
            return Path.GetDirectoryName(candidate)!;
        }
    }

    return Path.Combine(Environment.CurrentDirectory, "bench", "netem");
}
