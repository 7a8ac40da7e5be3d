using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using NetemDesk;

// X11 programs for bench/netem: workloads drawn on the Xspice desktop and watchers that measure there.
var verb = args.Length > 0 ? args[0] : "--help";
Dictionary<string, string> opts;
try
{
    opts = Options.Parse(args.Skip(1).ToArray());
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

if (opts.ContainsKey("help") || verb is "--help" or "-h" or "help")
{
    Console.WriteLine(Options.Usage);
    return verb is "--help" or "-h" or "help" || opts.ContainsKey("help") ? 0 : 2;
}

var stop = new CancellationTokenSource();
using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    stop.Cancel();
});
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
{
    ctx.Cancel = true;
    stop.Cancel();
});

try
{
    using var display = XDisplay.Open(opts.GetValueOrDefault("display"));
    var seconds = double.Parse(opts.GetValueOrDefault("seconds", "0"), CultureInfo.InvariantCulture);
    if (seconds > 0)
    {
        stop.CancelAfter(TimeSpan.FromSeconds(seconds));
    }

    return verb switch
    {
        "animate" => Desk.Animate(display, Region.Parse(opts.GetValueOrDefault("geometry", "320x240+560+470")),
            int.Parse(opts.GetValueOrDefault("fps", "30"), CultureInfo.InvariantCulture), stop.Token),
        "slideshow" => Desk.Slideshow(display, int.Parse(opts.GetValueOrDefault("interval-ms", "1000"), CultureInfo.InvariantCulture),
            int.Parse(opts.GetValueOrDefault("photos", "6"), CultureInfo.InvariantCulture), stop.Token),
        "pointer-watch" => Desk.PointerWatch(display, stop.Token),
        "key-echo" => Desk.KeyEcho(display, Region.Parse(Required(opts, "region")),
            int.Parse(opts.GetValueOrDefault("count", "50"), CultureInfo.InvariantCulture),
            int.Parse(opts.GetValueOrDefault("timeout-ms", "3000"), CultureInfo.InvariantCulture),
            int.Parse(opts.GetValueOrDefault("gap-ms", "150"), CultureInfo.InvariantCulture), stop.Token),
        "wait-content" => Desk.WaitContent(display, Region.Parse(Required(opts, "region")),
            int.Parse(opts.GetValueOrDefault("timeout-ms", "30000"), CultureInfo.InvariantCulture), stop.Token),
        _ => Unknown(verb),
    };
}
catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or FormatException or DllNotFoundException)
{
    Console.Error.WriteLine($"netem-desk {verb}: {ex.Message}");
    return 1;
}

static string Required(Dictionary<string, string> o, string key)
    => o.TryGetValue(key, out var v) && v.Length > 0 ? v : throw new ArgumentException($"--{key} is required");

static int Unknown(string verb)
{
    Console.Error.WriteLine($"unknown verb '{verb}'\n{Options.Usage}");
    return 2;
}

internal static class Options
{
    public const string Usage = """
        usage: NetemDesk VERB [--display :N] [--seconds S] …   (runs until --seconds elapse or SIGTERM/SIGINT)
          animate [--geometry WxH+X+Y] [--fps 30]
              a window redrawn at FPS with moving photo-like content and a frame marker at its top-left corner
          slideshow [--interval-ms 1000] [--photos 6]
              full-screen photo-like images (at most 16), the next one every interval, a frame marker at the top-left
          pointer-watch
              polls the pointer every ~1 ms; prints "unixMs x y" at each change
          key-echo --region WxH+X+Y [--count 50] [--timeout-ms 3000] [--gap-ms 150]
              XTest key presses (x, BackSpace alternately); prints "keyN latencyMs" or "keyN timeout" per key, the
              time until the region's pixels change, then "summary n= p50= p95= p99= max= timeouts="
          wait-content --region WxH+X+Y [--timeout-ms 30000]
              exits 0 once the region is not a single colour, 1 on timeout
        A frame marker is a 288x32 strip of black and white 16x16 blocks drawn into the frame: the time it was drawn
        ((unix ms / 4) mod 2^20), a 4-bit tag (the photo's number) and a CRC-8, between check columns (FrameMarker.cs).
        Programs that draw print "ready" once their first frame is on the screen.
        """;

    public static Dictionary<string, string> Parse(string[] a)
    {
        var d = new Dictionary<string, string>();
        for (var i = 0; i < a.Length; i++)
        {
            if (!a[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{a[i]}'\n{Usage}");
            }

            d[a[i][2..]] = i + 1 < a.Length && !a[i + 1].StartsWith("--", StringComparison.Ordinal) ? a[++i] : "";
        }

        return d;
    }
}
