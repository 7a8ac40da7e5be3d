using System.Diagnostics;
using System.Globalization;
using Spice.Codecs.Lz;
using Spice.Codecs.QuicImage;

namespace Spice.Codecs.Benchmarks;

/// <summary>
/// <c>vs-c</c>: spice-common's C QUIC/LZ (through <see cref="CReference"/>) against this library on the same images,
/// in one process, alternating C and C# call by call (the first of each pair alternates too), so both see the same
/// machine load. Reports medians and the median of the per-round ratios. Streams are checked byte-identical first.
/// </summary>
internal static class VsC
{
    private const string Usage = "usage: vs-c --lib libspicecref.so [--rounds N] [--reps N] [--clock cpu|wall] [--warmup-ms MS] [--size WxH] [--codecs quic,lz] IMAGE...\n" +
        "  IMAGE: gen:plasma | gen:text | gen:photo | FILE.ppm[.gz] | FILE.jpg";

    private static bool s_wallClock;
    private static int s_reps = 3;

    public static int Run(string[] args)
    {
        string? lib = null;
        int rounds = 21;
        int warmupMs = 1500;
        int width = 1024, height = 768;
        string codecs = "quic,lz";
        bool knownAnswers = false;
        var specs = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--lib": lib = args[++i]; break;
                case "--rounds": rounds = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--reps": s_reps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--clock": s_wallClock = args[++i] == "wall"; break;
                case "--warmup-ms": warmupMs = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--codecs": codecs = args[++i]; break;
                case "--known-answers": knownAnswers = true; break;
                case "--size":
                    string[] wh = args[++i].Split('x');
                    width = int.Parse(wh[0], CultureInfo.InvariantCulture);
                    height = int.Parse(wh[1], CultureInfo.InvariantCulture);
                    break;
                default: specs.Add(args[i]); break;
            }
        }

        if (lib is null || specs.Count == 0)
        {
            Console.Error.WriteLine(Usage);
            return 2;
        }

        using var c = new CReference(Path.GetFullPath(lib));
        if (knownAnswers)
        {
            return KnownAnswers(c, specs, width, height);
        }

        Console.WriteLine($"{(s_wallClock ? "wall-clock" : "thread CPU")} time; {rounds} rounds, each the best of {s_reps} calls of C and of C# " +
            $"(order alternating), after {warmupMs} ms of warm-up per operation; MB/s = raw 32-bit bytes / 10^6 / median time; " +
            "speed = C time / C# time per round (> 1: C# faster), median over the rounds");
        Console.WriteLine();
        Console.WriteLine("| image | size | op | C ms | C# ms | C MB/s | C# MB/s | speed C#/C | ratio range (p10–p90) | stream bytes |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|---|---:|");
        bool ok = true;
        foreach (string spec in specs)
        {
            BenchImage image = BenchInputs.Load(spec, width, height);
            if (codecs.Contains("quic", StringComparison.Ordinal))
            {
                ok &= Quic(c, image, rounds, warmupMs);
            }

            if (codecs.Contains("lz", StringComparison.Ordinal))
            {
                ok &= Lz(c, image, rounds, warmupMs);
            }
        }

        return ok ? 0 : 1;
    }

    private static bool Quic(CReference c, BenchImage image, int rounds, int warmupMs)
    {
        int w = image.Width, h = image.Height;
        var d = BitmapDescriptor.Rgb32(w, h);
        int max = QuicImageEncoder.GetMaxEncodedLength(w, h, QuicImageType.Rgb32);
        byte[] cStream = new byte[max], sStream = new byte[max];
        byte[] cPixels = new byte[w * h * 4], sPixels = new byte[w * h * 4];
        int cLength = c.QuicEncode(image.Pixels, w, h, cStream);
        QuicImageEncoder.TryEncode(image.Pixels, d, sStream, out int sLength);
        if (cLength <= 0 || !cStream.AsSpan(0, cLength).SequenceEqual(sStream.AsSpan(0, sLength)))
        {
            Console.WriteLine($"| {image.Name} | QUIC streams DIFFER (C {cLength} bytes, C# {sLength} bytes) |");
            return false;
        }

        if (!c.QuicDecode(cStream, cLength, cPixels, w * 4) ||
            QuicImageDecoder.Decode(sStream.AsSpan(0, sLength), sPixels, w * 4, out _) != OperationStatus.Done ||
            !SameRgb(cPixels, image.Pixels) || !SameRgb(sPixels, image.Pixels))
        {
            Console.WriteLine($"| {image.Name} | QUIC decode does not reproduce the image |");
            return false;
        }

        Measure(image, "QUIC encode", cLength, rounds, warmupMs,
            () => c.QuicEncode(image.Pixels, w, h, cStream),
            () => QuicImageEncoder.TryEncode(image.Pixels, d, sStream, out _));
        Measure(image, "QUIC decode", cLength, rounds, warmupMs,
            () => c.QuicDecode(cStream, cLength, cPixels, w * 4),
            () => QuicImageDecoder.Decode(sStream.AsSpan(0, sLength), sPixels, w * 4, out _));
        return true;
    }

    private static bool Lz(CReference c, BenchImage image, int rounds, int warmupMs)
    {
        int w = image.Width, h = image.Height;
        var d = BitmapDescriptor.Rgb32(w, h);
        int max = LzEncoder.GetMaxEncodedLength(w, h, LzImageType.Rgb32);
        byte[] cStream = new byte[max], sStream = new byte[max];
        byte[] cPixels = new byte[w * h * 4], sPixels = new byte[w * h * 4];
        int cLength = c.LzEncode(image.Pixels, w, h, cStream);
        LzEncoder.TryEncode(image.Pixels, d, sStream, out int sLength);
        if (cLength <= 0 || !cStream.AsSpan(0, cLength).SequenceEqual(sStream.AsSpan(0, sLength)))
        {
            Console.WriteLine($"| {image.Name} | LZ streams DIFFER (C {cLength} bytes, C# {sLength} bytes) |");
            return false;
        }

        if (!c.LzDecode(cStream, cLength, cPixels) ||
            LzDecoder.Decode(sStream.AsSpan(0, sLength), sPixels, w * 4, out _) != OperationStatus.Done ||
            !SameRgb(cPixels, image.Pixels) || !SameRgb(sPixels, image.Pixels))
        {
            Console.WriteLine($"| {image.Name} | LZ decode does not reproduce the image |");
            return false;
        }

        Measure(image, "LZ encode", cLength, rounds, warmupMs,
            () => c.LzEncode(image.Pixels, w, h, cStream),
            () => LzEncoder.TryEncode(image.Pixels, d, sStream, out _));
        Measure(image, "LZ decode", cLength, rounds, warmupMs,
            () => c.LzDecode(cStream, cLength, cPixels),
            () => LzDecoder.Decode(sStream.AsSpan(0, sLength), sPixels, w * 4, out _));
        return true;
    }

    /// <summary>
    /// Prints the C encoder's stream length and SHA-256 for each image in every QUIC input format (converted as the
    /// tests convert: <see cref="Tests.Support.TestImages.Convert"/>), the known answers of QuicDesktopKnownAnswerTests,
    /// and whether this library's stream is the same.
    /// </summary>
    private static int KnownAnswers(CReference c, List<string> specs, int width, int height)
    {
        bool ok = true;
        foreach (string spec in specs)
        {
            BenchImage image = BenchInputs.Load(spec, width, height);
            foreach (SpiceBitmapFormat format in new[] { SpiceBitmapFormat.ThirtyTwoBit, SpiceBitmapFormat.TwentyFourBit, SpiceBitmapFormat.SixteenBit,
                SpiceBitmapFormat.Rgba, SpiceBitmapFormat.EightBitAlpha })
            {
                byte[] px = Tests.Support.TestImages.Convert(image.Pixels, image.Width, image.Height, format, out int stride);
                QuicImageType type = QuicImageEncoder.TypeFor(format);
                byte[] cStream = new byte[QuicImageEncoder.GetMaxEncodedLength(image.Width, image.Height, type)];
                byte[] sStream = new byte[cStream.Length];
                int cLength = c.QuicEncode(px, image.Width, image.Height, stride, type, cStream);
                QuicImageEncoder.TryEncode(px, new BitmapDescriptor(image.Width, image.Height, stride, format, true), sStream, out int sLength);
                bool same = cLength > 0 && cStream.AsSpan(0, cLength).SequenceEqual(sStream.AsSpan(0, sLength));
                ok &= same;
                string sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(cStream.AsSpan(0, Math.Max(cLength, 0))));
                Console.WriteLine($"{image.Name} {format} C: {cLength} bytes sha256 {sha}; C#: {(same ? "identical" : $"DIFFERENT ({sLength} bytes)")}");
            }
        }

        return ok ? 0 : 1;
    }

    private static bool SameRgb(byte[] a, byte[] b)
    {
        for (int i = 0; i < a.Length; i += 4)
        {
            if (a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2])
            {
                return false;
            }
        }

        return true;
    }

    private static void Measure(BenchImage image, string op, int streamBytes, int rounds, int warmupMs, Action cOp, Action sOp)
    {
        // Warm-up: enough calls (and time) for tiered compilation to reach its optimised code on the C# side.
        var warm = Stopwatch.StartNew();
        for (int i = 0; i < 40 || warm.ElapsedMilliseconds < warmupMs; i++)
        {
            cOp();
            sOp();
        }

        var cTimes = new double[rounds];
        var sTimes = new double[rounds];
        var ratios = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            if ((r & 1) == 0)
            {
                cTimes[r] = Time(cOp);
                sTimes[r] = Time(sOp);
            }
            else
            {
                sTimes[r] = Time(sOp);
                cTimes[r] = Time(cOp);
            }

            ratios[r] = cTimes[r] / sTimes[r];
        }

        double cMs = Median(cTimes), sMs = Median(sTimes);
        Array.Sort(ratios);
        double raw = (double)image.Width * image.Height * 4 / 1e6;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {image.Name} | {image.Width}×{image.Height} | {op} | {cMs:F2} | {sMs:F2} | {raw / cMs * 1000:F0} | {raw / sMs * 1000:F0} | " +
            $"**{Median(ratios):F2}** | {ratios[rounds / 10]:F2}–{ratios[rounds - 1 - rounds / 10]:F2} | {streamBytes} |"));
    }

    /// <summary>Best of <see cref="s_reps"/> calls, in thread CPU time (time the thread was preempted does not count) or wall-clock time.</summary>
    private static double Time(Action op)
    {
        double best = double.MaxValue;
        for (int i = 0; i < s_reps; i++)
        {
            double t;
            if (s_wallClock)
            {
                long start = Stopwatch.GetTimestamp();
                op();
                t = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
            else
            {
                double start = ThreadCpuMs();
                op();
                t = ThreadCpuMs() - start;
            }

            best = Math.Min(best, t);
        }

        return best;
    }

    private static unsafe double ThreadCpuMs()
    {
        const int ClockThreadCpuTimeId = 3;
        long* ts = stackalloc long[2];
        return ClockGetTime(ClockThreadCpuTimeId, ts) == 0 ? ts[0] * 1e3 + ts[1] / 1e6 : throw new InvalidOperationException("clock_gettime failed");
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern unsafe int ClockGetTime(int clock, long* timespec);

    private static double Median(double[] values)
    {
        double[] sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
