using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace NetemDesk;

/// <summary>The desk programs' main loops.</summary>
internal static unsafe class Desk
{
    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>
    /// A window redrawn at <paramref name="fps"/>: a view of a larger photo-like texture that moves with the time of the
    /// frame, the <see cref="FrameMarker"/> (that time) in its top-left corner, all one XPutImage.
    /// </summary>
    public static int Animate(XDisplay d, Region geometry, int fps, CancellationToken stop)
    {
        int w = geometry.Width, h = geometry.Height;
        if (w < FrameMarker.Width || h < FrameMarker.Height)
        {
            throw new ArgumentException($"the animation needs at least {FrameMarker.Width}x{FrameMarker.Height} pixels for its marker");
        }

        var texture = AnimationFrames.Texture(w, h);
        var pixels = (uint*)NativeMemory.Alloc((nuint)w * (nuint)h, sizeof(uint)); // owned by the XImage for the process lifetime
        var frameImage = d.CreateImage(pixels, w, h);
        var frame = new Span<uint>(pixels, w * h);
        var window = d.CreateWindow("netem-animate", geometry.X, geometry.Y, w, h);
        var gc = d.CreateGc(window);
        var period = TimeSpan.FromSeconds(1.0 / fps);
        var clock = Stopwatch.StartNew();
        long n = 0;
        var ready = false;
        while (!stop.IsCancellationRequested)
        {
            AnimationFrames.Compose(texture, w, h, FrameMarker.TimeCode(NowMs), frame);
            X11.XPutImage(d.Handle, window, gc, frameImage, 0, 0, 0, 0, (uint)w, (uint)h);
            if (!ready)
            {
                d.Sync();
                Ready();
                ready = true;
            }
            else
            {
                d.Flush();
            }

            // Absolute schedule: frame k at k × period; a late frame skips ahead instead of drifting.
            n = Math.Max(n + 1, (long)(clock.Elapsed / period));
            var wait = (n * period) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                stop.WaitHandle.WaitOne(wait);
            }
        }

        return 0;
    }

    /// <summary>
    /// Full-screen photos, the next every interval, each with the <see cref="FrameMarker"/> (the time it is drawn, tagged
    /// with the photo's number) stamped into its top-left corner: one XPutImage per photo.
    /// </summary>
    public static int Slideshow(XDisplay d, int intervalMs, int photos, CancellationToken stop)
    {
        int w = d.Width, h = d.Height;
        if (photos is < 1 or > 16)
        {
            throw new ArgumentException("--photos takes 1 to 16 (the marker's tag has 4 bits)");
        }

        var pixels = new uint*[photos];
        var images = new X11.XImage*[photos];
        for (var i = 0; i < images.Length; i++)
        {
            pixels[i] = (uint*)NativeMemory.Alloc((nuint)w * (nuint)h, sizeof(uint));
            Photos.Render(pixels[i], w, h, Photos.SlideshowSeed(i));
            images[i] = d.CreateImage(pixels[i], w, h);
        }

        var window = d.CreateWindow("netem-slideshow", 0, 0, w, h);
        d.HideCursor(window);
        var gc = d.CreateGc(window);
        var clock = Stopwatch.StartNew();
        for (long n = 0; !stop.IsCancellationRequested; n++)
        {
            var i = (int)(n % photos);
            FrameMarker.Stamp(new Span<uint>(pixels[i], w * h), w, 0, 0, FrameMarker.TimeCode(NowMs), i);
            X11.XPutImage(d.Handle, window, gc, images[i], 0, 0, 0, 0, (uint)w, (uint)h);
            d.Sync();
            if (n == 0)
            {
                Ready();
            }

            var wait = TimeSpan.FromMilliseconds((n + 1) * intervalMs) - clock.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                stop.WaitHandle.WaitOne(wait);
            }
        }

        return 0;
    }

    /// <summary>Prints "unixMs x y" whenever the pointer moves (polled every ~1 ms), flushed every 50 ms.</summary>
    public static int PointerWatch(XDisplay d, CancellationToken stop)
    {
        using var output = new StreamWriter(Console.OpenStandardOutput()) { AutoFlush = false };
        var last = d.Pointer();
        output.WriteLine("ready");
        output.Flush();
        var flushed = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested)
        {
            var p = d.Pointer();
            if (p != last)
            {
                output.Write(NowMs.ToString(CultureInfo.InvariantCulture));
                output.Write(' ');
                output.Write(p.X.ToString(CultureInfo.InvariantCulture));
                output.Write(' ');
                output.WriteLine(p.Y.ToString(CultureInfo.InvariantCulture));
                last = p;
            }

            if (flushed.ElapsedMilliseconds >= 50)
            {
                output.Flush();
                flushed.Restart();
            }

            Thread.Sleep(1);
        }

        output.Flush();
        return 0;
    }

    /// <summary>Types x / BackSpace with XTest and times until the region's pixels change.</summary>
    public static int KeyEcho(XDisplay d, Region region, int count, int timeoutMs, int gapMs, CancellationToken stop)
    {
        var keys = new[] { X11.XKeysymToKeycode(d.Handle, 0x78), X11.XKeysymToKeycode(d.Handle, 0xFF08) }; // XK_x, XK_BackSpace
        if (keys[0] == 0 || keys[1] == 0)
        {
            throw new InvalidOperationException("the keymap has no x or BackSpace key");
        }

        var baseline = new byte[region.Bytes];
        var current = new byte[region.Bytes];
        var latencies = new List<double>(count);
        var timeouts = 0;
        for (var i = 0; i < count && !stop.IsCancellationRequested; i++)
        {
            WaitStable(d, region, baseline, current, stop);
            var key = keys[i % 2];
            var sent = Stopwatch.GetTimestamp();
            X11.XTestFakeKeyEvent(d.Handle, key, 1, 0);
            X11.XTestFakeKeyEvent(d.Handle, key, 0, 0);
            d.Flush();
            var changed = false;
            while (!stop.IsCancellationRequested && Stopwatch.GetElapsedTime(sent).TotalMilliseconds < timeoutMs)
            {
                d.Grab(region, current);
                if (!current.AsSpan().SequenceEqual(baseline))
                {
                    changed = true;
                    break;
                }
            }

            if (changed)
            {
                var ms = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
                latencies.Add(ms);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"key{i} {ms:0.0}"));
            }
            else
            {
                timeouts++;
                Console.WriteLine($"key{i} timeout");
            }

            stop.WaitHandle.WaitOne(gapMs);
        }

        latencies.Sort();
        double P(double q) => latencies.Count == 0 ? double.NaN : latencies[Math.Clamp((int)Math.Ceiling(q * latencies.Count) - 1, 0, latencies.Count - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"summary n={latencies.Count} p50={P(0.5):0.0} p95={P(0.95):0.0} p99={P(0.99):0.0} max={P(1):0.0} timeouts={timeouts}"));
        return latencies.Count > 0 ? 0 : 1;
    }

    /// <summary>Waits (max 5 s) until two grabs 20 ms apart are equal; leaves that content in <paramref name="baseline"/>.</summary>
    private static void WaitStable(XDisplay d, Region region, byte[] baseline, byte[] scratch, CancellationToken stop)
    {
        var start = Stopwatch.StartNew();
        d.Grab(region, baseline);
        while (!stop.IsCancellationRequested && start.ElapsedMilliseconds < 5000)
        {
            stop.WaitHandle.WaitOne(20);
            d.Grab(region, scratch);
            if (scratch.AsSpan().SequenceEqual(baseline))
            {
                return;
            }

            scratch.CopyTo(baseline, 0);
        }
    }

    /// <summary>Exit 0 once the region is not one uniform colour, 1 on timeout.</summary>
    public static int WaitContent(XDisplay d, Region region, int timeoutMs, CancellationToken stop)
    {
        var pixels = new byte[region.Bytes];
        var clock = Stopwatch.StartNew();
        while (!stop.IsCancellationRequested && clock.ElapsedMilliseconds < timeoutMs)
        {
            d.Grab(region, pixels);
            var words = MemoryMarshal.Cast<byte, uint>(pixels);
            var first = words[0] & 0xFFFFFF;
            foreach (var w in words)
            {
                if ((w & 0xFFFFFF) != first)
                {
                    Console.WriteLine("content");
                    return 0;
                }
            }

            stop.WaitHandle.WaitOne(50);
        }

        Console.WriteLine("timeout");
        return 1;
    }

    private static void Ready()
    {
        Console.WriteLine("ready");
        Console.Out.Flush();
    }
}
