using System.Buffers.Binary;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;
using Accel.Core.Relay;
using Accel.Core.Spice.Display;
using Accel.Core.Tests.Spice;
using Accel.Core.Tests.Spice.Canvas;
using Accel.Core.Tests.Spice.Display;
using Accel.Core.Transport;

namespace Accel.Core.Tests.Relay;

/// <summary>
/// The server edge's canvas coalescing on a real desktop: Xspice ← edge pair (display canvas on, budget forced to
/// 16 KiB over a link of 40 ms round trip, so that a busy desktop's draws are absorbed: on bare loopback the peer's
/// acknowledgements come back so fast that whether any draw waits was up to the machine) ← spicy (spice-gtk) under its own Xvfb for the whole busy session (typing, scrolling,
/// window moves). When the desktop is quiet, the picture spice-gtk shows (grabbed from spicy's Xvfb) must equal a direct
/// spicy-screenshot of Xspice pixel for pixel, and draws must have been absorbed and refreshed, and small ones sent ahead
/// as preview datagrams.
/// </summary>
[Collection(DisplayMetricsCollection.Name)]
public sealed class DisplayCanvasThroughEdgesTests(ITestOutputHelper output)
{
    private const uint Marker = 0x123456;

    [Fact]
    public async Task Spicy_BusyDesktopThroughCanvasEdges_EndsPixelExactAndAbsorbed()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var xspice = await XspiceServer.StartAsync(new Dictionary<string, string> { ["SpiceStreamingVideo"] = "off" }, ct);
        using var counters = new CanvasCounters();
        var tiny = new DisplayBudgetSettings { Floor = 16 * 1024, Ceiling = 16 * 1024, Fallback = 16 * 1024 };
        await using var pair = await EdgePair.StartAsync(xspice.Port, new SpiceRelaySettings { DisplayCanvas = true, DisplayBudget = tiny }, ct, linkDelay: TimeSpan.FromMilliseconds(20));

        Grab shown;
        await using (var viewer = await SpicyViewer.StartAsync(pair.EndPoint.Port, ct, unscaled: true))
        {
            await DesktopActivity.RunAsync(xspice, ct);
            await DesktopActivity.MarkAsync(xspice, ct);

            // Quiet: the marker (the guest's top-left corner) is on spicy's screen and three grabs in a row agree.
            var clock = Stopwatch.StartNew();
            Grab? previous = null;
            int agreeing = 0;
            while (true)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "spicy's picture did not settle with the marker within 60 s");
                var grab = await GrabAsync(xspice, viewer.Display, ct);
                agreeing = grab.Origin is not null && previous is not null && grab.Pixels.AsSpan().SequenceEqual(previous.Pixels) ? agreeing + 1 : 0;
                previous = grab;
                if (agreeing >= 2)
                {
                    break;
                }

                await Task.Delay(250, ct);
            }

            shown = previous;
        }

        var direct = await DisplayDesktopFixture.StableCaptureAsync(xspice.Port, ct);
        output.WriteLine($"absorbed {counters.Absorbed} draws, refreshed {counters.RefreshRects} rects ({counters.GlzRects} as the edge's own GLZ, when an absorbed draw was GLZ) / {counters.RefreshBytes} B; previews sent {counters.PreviewsSent}, received {counters.PreviewsReceived}");
        // The marker's first pixel in the direct capture (past the window's border) gives the guest's origin on spicy's screen.
        int directMarker = 0;
        while (directMarker < direct.Width * direct.Height
            && (uint)(direct.Rgb[directMarker * 3] << 16 | direct.Rgb[directMarker * 3 + 1] << 8 | direct.Rgb[directMarker * 3 + 2]) != Marker)
        {
            directMarker++;
        }

        Assert.True(directMarker < direct.Width * direct.Height, "the marker is not in the direct capture");
        int x0 = shown.Origin!.Value.X - directMarker % direct.Width, y0 = shown.Origin.Value.Y - directMarker / direct.Width;
        output.WriteLine($"direct {direct.Width}x{direct.Height}; spicy's screen {shown.Width}x{shown.Height}, guest at ({x0},{y0})");
        if (Environment.GetEnvironmentVariable("SPICEACCEL_DUMP") is { } dump)
        {
            File.WriteAllBytes(dump + ".direct.rgb", direct.Rgb);
            File.WriteAllBytes(dump + ".spicy.bgrx", System.Runtime.InteropServices.MemoryMarshal.AsBytes(shown.Pixels.AsSpan()).ToArray());
        }

        Assert.True(x0 + direct.Width <= shown.Width && y0 + direct.Height <= shown.Height, $"spicy shows the guest at ({x0},{y0}) in {shown.Width}x{shown.Height}, too small for {direct.Width}x{direct.Height}");
        int differing = 0;
        string first = "none";
        for (int y = 0; y < direct.Height; y++)
        {
            for (int x = 0; x < direct.Width; x++)
            {
                int i = (y * direct.Width + x) * 3;
                uint expected = (uint)(direct.Rgb[i] << 16 | direct.Rgb[i + 1] << 8 | direct.Rgb[i + 2]);
                uint seen = shown.Pixels[(y0 + y) * shown.Width + x0 + x] & 0xFFFFFF;
                if (seen != expected && differing++ == 0)
                {
                    first = $"({x},{y}) spicy {seen:X6} direct {expected:X6}";
                }
            }
        }

        Assert.True(differing == 0, $"{differing} pixels of spicy's picture differ from the direct capture; first {first}");
        // The canvas absorbs draws while the display stream holds more than the budget unacknowledged. Where the server
        // edge's engine counts to the peer's acknowledgements, a 16 KiB budget on a busy desktop always gets there. An
        // engine that counts to its own completion of each write (msquic: libmsquic completes writes from a send buffer
        // of 128 KiB and more, docs/msquic.md) can drain every burst on loopback before the count reaches the budget:
        // there absorption is reported, not required.
        var countsAcks = (EdgePairFixture.Engine("E2E_SERVER_ENGINE").Capabilities & TransportCapabilities.AcknowledgedBytes) != 0;
        Assert.True(counters.Absorbed > 0 || !countsAcks, "no draw was absorbed");
        Assert.True(counters.Absorbed == 0 || (counters.RefreshRects > 0 && counters.RefreshBytes > 0), "absorbed draws were not refreshed from the canvas");
        // Typing behind a backlog: small draws went ahead as preview datagrams, the client edge took them (shown or, once
        // the stream had passed their marker, dropped), and the picture above is still exact.
        // (Only where both edges have datagrams: the msquic engine has none, and then no previews at all.)
        var datagrams = EdgePairFixture.PairHasDatagrams();
        Assert.True(datagrams ? counters.PreviewsSent > 0 && counters.PreviewsReceived > 0 : counters.PreviewsSent == 0,
            $"previews sent {counters.PreviewsSent}, received {counters.PreviewsReceived} (datagrams: {datagrams})");
    }

    internal sealed record Grab(int Width, int Height, uint[] Pixels, (int X, int Y)? Origin);

    /// <summary>xwd of spicy's Xvfb root window; the origin is the first pixel of the marker colour.</summary>
    internal static async Task<Grab> GrabAsync(XspiceServer xspice, string display, CancellationToken ct)
    {
        var start = new ProcessStartInfo("xwd") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-root", "-silent", "-display", display })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        using var file = new MemoryStream();
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.StandardOutput.BaseStream.CopyToAsync(file, ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        await process.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
        Assert.True(process.ExitCode == 0, $"xwd exited {process.ExitCode}: {await stderr} ({xspice.Diagnostics()})");
        return ReadXwd(file.ToArray());
    }

    /// <summary>XWD (header big-endian), 24 or 32 bits per pixel, LSB first (B, G, R).</summary>
    private static Grab ReadXwd(byte[] xwd)
    {
        uint U(int at) => BinaryPrimitives.ReadUInt32BigEndian(xwd.AsSpan(at));
        int headerSize = (int)U(0), width = (int)U(16), height = (int)U(20), bpp = (int)U(44), stride = (int)U(48), colors = (int)U(76);
        Assert.True(bpp is 24 or 32 && U(28) == 0, $"xwd gave {bpp} bits per pixel, byte order {U(28)}");
        int bytes = bpp / 8;
        int data = headerSize + colors * 12;
        var pixels = new uint[width * height];
        (int, int)? origin = null;
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int at = data + y * stride + x * bytes;
                uint p = (uint)(xwd[at + 2] << 16 | xwd[at + 1] << 8 | xwd[at]);
                pixels[y * width + x] = p;
                if (origin is null && p == Marker)
                {
                    origin = (x, y);
                }
            }
        }

        return new Grab(width, height, pixels, origin);
    }

    /// <summary>The spiceaccel.display.draws_absorbed / refresh_* counters.</summary>
    private sealed class CanvasCounters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _absorbed, _rects, _bytes, _glz, _previews, _shownOrLate;

        public CanvasCounters()
        {
            _listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == AccelMetrics.MeterName && instrument.Name is "spiceaccel.display.draws_absorbed" or "spiceaccel.display.refresh_rects"
                    or "spiceaccel.display.refresh_bytes" or "spiceaccel.display.refresh_glz_rects" or "spiceaccel.display.previews_sent" or "spiceaccel.display.previews_shown" or "spiceaccel.display.previews_late")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            {
                switch (instrument.Name)
                {
                    case "spiceaccel.display.draws_absorbed":
                        Interlocked.Add(ref _absorbed, value);
                        break;
                    case "spiceaccel.display.refresh_rects":
                        Interlocked.Add(ref _rects, value);
                        break;
                    case "spiceaccel.display.refresh_glz_rects":
                        Interlocked.Add(ref _glz, value);
                        break;
                    case "spiceaccel.display.previews_sent":
                        Interlocked.Add(ref _previews, value);
                        break;
                    case "spiceaccel.display.previews_shown" or "spiceaccel.display.previews_late":
                        Interlocked.Add(ref _shownOrLate, value);
                        break;
                    default:
                        Interlocked.Add(ref _bytes, value);
                        break;
                }
            });
            _listener.Start();
        }

        public long Absorbed => Interlocked.Read(ref _absorbed);

        public long RefreshRects => Interlocked.Read(ref _rects);

        public long RefreshBytes => Interlocked.Read(ref _bytes);

        /// <summary>Refreshes sent as GLZ (the edge continuing the client's GLZ stream).</summary>
        public long GlzRects => Interlocked.Read(ref _glz);

        public long PreviewsSent => Interlocked.Read(ref _previews);

        /// <summary>Preview datagrams the client edge received and either showed or found late.</summary>
        public long PreviewsReceived => Interlocked.Read(ref _shownOrLate);

        public void Dispose() => _listener.Dispose();
    }
}
