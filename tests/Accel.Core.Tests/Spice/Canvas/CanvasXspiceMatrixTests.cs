using System.Diagnostics;
using Accel.Core.Tests.Relay;

namespace Accel.Core.Tests.Spice.Canvas;

/// <summary>
/// The canvas against spice-gtk once per Xspice image compression and once with video streaming on: full-screen
/// photos (NetemDesk slideshow), a 30 fps animation (NetemDesk animate) running while xterm types and scrolls, a photo
/// in xwud and windows move; then the animation stops, streams end, a marker is drawn, and the canvas fed by the tap
/// must equal spice-gtk's screenshot pixel for pixel.
/// </summary>
public sealed class CanvasXspiceMatrixTests(ITestOutputHelper output)
{
    private const ushort StreamCreate = 122;

    [Theory]
    [InlineData("quic", "off")]
    [InlineData("lz", "off")]
    [InlineData("glz", "off")]
    [InlineData("auto_glz", "off")]
    [InlineData("auto_glz", "all")]
    public async Task Canvas_PhotosAnimationTypingMoves_EqualsSpiceGtkScreenshot(string compression, string streaming)
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = Stopwatch.StartNew();
        await using var xspice = await XspiceServer.StartAsync(
            new Dictionary<string, string> { ["SpiceImageCompression"] = compression, ["SpiceStreamingVideo"] = streaming }, ct);
        await using var proxy = new LinkAwareProxy(xspice.EndPoint);
        using var canvas = new TappedCanvas(proxy);

        await using (var viewer = await SpicyViewer.StartAsync(proxy.Port, ct))
        {
            await CanvasXspiceTests.WaitForAsync(() => canvas.Read(c => c.PrimaryId is not null), TimeSpan.FromSeconds(30), "no primary surface through the tap");

            // Full-screen photos, one every 300 ms for 8 s; the program ends by itself and its window goes away.
            using (var slideshow = await DeskProgram.StartAsync(xspice.Display, ct, "slideshow", "--interval-ms", "300", "--photos", "4", "--seconds", "8"))
            {
                await slideshow.WaitForExitAsync(TimeSpan.FromSeconds(20), ct);
            }

            using (var animate = await DeskProgram.StartAsync(xspice.Display, ct, "animate", "--geometry", "320x240+660+470", "--fps", "30"))
            {
                if (streaming == "all")
                {
                    // spice-server turns a region into a stream after ~20 steady frames; STREAM_CREATE is the signal.
                    await CanvasXspiceTests.WaitForAsync(() => canvas.Read(c => c.Applied.ContainsKey(StreamCreate)), TimeSpan.FromSeconds(20),
                        "spice-server never streamed the animation");
                }

                await DesktopActivity.RunAsync(xspice, ct);
                await DesktopActivity.MoreAsync(xspice, rounds: 14, ct);
                await animate.StopAsync(ct);
            }

            // Streams end when their area stops changing (spice-server's stream timeout): STREAM_DESTROY is the signal.
            await CanvasXspiceTests.WaitForAsync(() => canvas.Read(c => c.StreamCount == 0), TimeSpan.FromSeconds(20), "a video stream was never destroyed");
            var marker = await DesktopActivity.MarkAsync(xspice, ct);
            await CanvasXspiceTests.WaitForAsync(() => canvas.PixelAt(2, 2) == marker, TimeSpan.FromSeconds(30), "the marker never reached the canvas");
        }

        output.WriteLine($"SpiceImageCompression={compression} SpiceStreamingVideo={streaming}: session {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine(canvas.Summary());
        Assert.Null(canvas.Error);
        var shot = await Screenshots.CaptureAsync(xspice.Port, ct);
        int differing = canvas.CompareWith(shot, out string first);
        output.WriteLine($"whole case {clock.Elapsed.TotalSeconds:F1} s, {differing} pixels differ");
        Assert.True(differing == 0, $"{differing} pixels differ from spice-gtk's screenshot; first: {first}");
    }
}
