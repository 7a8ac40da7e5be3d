using System.Collections.Concurrent;
using Accel.Core.Spice.Protocol.Messages;
using NetemDesk;

namespace NetemBench.Probe;

/// <summary>
/// Freshness, frame/photo latency and picture quality of the animation and slideshow workloads, read from the pixels
/// of the probe's picture (<see cref="ProbePicture"/>) — one method for every contender, whatever carries the pixels.
/// </summary>
internal static class ProbeFrames
{
    /// <summary>Photos the slideshow cycles through (NetemDesk slideshow --photos).</summary>
    public const int SlideshowPhotos = 6;

    /// <summary>PSNR of a sample identical to its frame (a finite stand-in for +∞ in the statistics).</summary>
    public const double IdenticalDb = 99;

    /// <summary>Photos rendered once per process, shared by every sample (the probe never writes into them).</summary>
    private static readonly ConcurrentDictionary<(int Tag, int Width, int Height), uint[]> s_photos = new();

    /// <summary>The picture a workload is measured from; null for workloads measured from draw commands (typing).</summary>
    public static ProbePicture? PictureFor(string workload)
    {
        switch (workload)
        {
            case "animation":
                var a = Geometry.Parse(ProbeWorkloads.AnimationGeometry);
                return new ProbePicture((a.Left, a.Top));
            case "slideshow":
                // Rendered before the session starts (about 0.1 s of CPU each), not while the display loop waits.
                return new ProbePicture((0, 0), Enumerable.Range(0, SlideshowPhotos).Select(i => Photo(i, 1024, 768)).ToList());
            default:
                return null;
        }
    }

    private static long StreamFrames(ProbePicture picture) =>
        picture.Applied((ushort)SpiceDisplayMsg.StreamData) + picture.Applied((ushort)SpiceDisplayMsg.StreamDataSized);

    private static uint[] Photo(int tag, int width, int height) =>
        s_photos.GetOrAdd((tag, width, height), k => Photos.Render(k.Width, k.Height, Photos.SlideshowSeed(k.Tag)));

    /// <summary>
    /// Watches the picture for <paramref name="phase"/>: every 100 ms the age of the frame the client shows (animation:
    /// the newest marker visible; slideshow: the newest photo complete) and, for the animation, the PSNR of the window
    /// against the frame its marker names; afterwards each frame's drawn → visible (photo: → complete) latency.
    /// </summary>
    public static async Task WatchAsync(ProbePicture picture, string workload, TimeSpan phase, Dictionary<string, List<double>> series,
        Dictionary<string, double> values, List<string> errors, CancellationToken ct)
    {
        var slideshow = workload == "slideshow";
        var window = Geometry.Parse(ProbeWorkloads.AnimationGeometry);
        int w = window.Right - window.Left, h = window.Bottom - window.Top;
        var texture = slideshow ? null : AnimationFrames.Texture(w, h);
        var shown = new uint[w * h];
        var intended = new uint[w * h];
        var freshness = new List<double>();
        var psnr = new List<double>();
        var torn = 0;
        var streamFrames0 = StreamFrames(picture);
        picture.Clear();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (watch.Elapsed < phase && await timer.WaitForNextTickAsync(ct))
        {
            if (picture.Newest(complete: slideshow) is { } newest)
            {
                freshness.Add(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - newest.DrawnUnixMs);
            }

            if (texture is not null && picture.TryCopy(window, shown))
            {
                // The window as the client shows it, against the frame its own marker names (a torn strip names none).
                if (FrameMarker.TryRead(shown, w, 0, 0, out var code, out _))
                {
                    AnimationFrames.Compose(texture, w, h, code, intended);
                    psnr.Add(Math.Min(IdenticalDb, ProbePicture.Psnr(shown, intended)));
                }
                else
                {
                    torn++;
                }
            }
        }

        var frames = slideshow ? picture.Complete() : picture.Seen();
        // Video stream frames (MJPEG) spice-server sent instead of draws: plain SPICE's lossy path during motion.
        values["streamFramesPerSecond"] = (StreamFrames(picture) - streamFrames0) / watch.Elapsed.TotalSeconds;
        series["freshnessMs"] = freshness;
        series["markerLatencyMs"] = frames.Select(f => (double)f.LatencyMs).ToList();
        values["markersPerSecond"] = frames.Count / watch.Elapsed.TotalSeconds;
        if (slideshow)
        {
            // Photos whose marker showed but that were replaced before they were ever complete on the client.
            values["photosIncomplete"] = Math.Max(0, picture.Seen().Count - frames.Count);
        }
        else
        {
            series["motionPsnrDb"] = psnr;
            values["tornSamples"] = torn;
        }

        if (picture.Error is { } error)
        {
            errors.Add(error);
        }

        var expected = slideshow ? 0.5 : 5.0;
        if (frames.Count < expected * phase.TotalSeconds / 10)
        {
            errors.Add($"only {frames.Count} {(slideshow ? "complete photos" : "frames")} became visible at the client in {watch.Elapsed.TotalSeconds:0.0} s"
                + (picture.Pending() is { } pending ? $" ({pending})" : ""));
        }
    }
}
