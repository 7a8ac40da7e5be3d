using System.Buffers;
using System.Runtime.InteropServices;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Tests.Spice.Display;
using Spice.Codecs;
using Spice.Codecs.Glz;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Core.Tests.Spice.Policies;

public sealed class DisplayCanvasPolicyTests
{
    private const ushort Fill = 302, Copy = 304, CopyBits = 104, InvalList = 105, InvalAllPixmaps = 106, Mark = 102;
    private const ushort SurfaceCreate = 314, SurfaceDestroy = 315, StreamCreate = 122, StreamData = 123;
    private const int RopPut = 8;

    private static byte[] SolidFill(uint surface, int l, int t, int r, int b, uint color) =>
        new B().Base(surface, l, t, r, b).U8(1).U32(color).U16(RopPut).NoMask().Build();

    private static byte[] CopyOf(byte[] image, int l, int t, int r, int b) =>
        new B().Base(0, l, t, r, b).Pointer(image).Rect(0, 0, r - l, b - t).U16(RopPut).U8(0).NoMask().Build();

    private static uint Pattern(int x, int y) => (uint)((x * 37) ^ (y * 101) ^ (x * y)) & 0xFFFFFF;

    [Fact]
    public void UnderBudget_NoDamage_DrawsPassThrough()
    {
        using var h = new CanvasPolicyHarness();
        Assert.True(h.Send(Fill, SolidFill(0, 0, 0, 8, 8, 0x112233)));
        Assert.False(h.Policy.Absorbing);
        Assert.Equal(0, h.Policy.DrawsAbsorbed);
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void OverBudget_DrawsAbsorbed_ControlForwardedInOrder()
    {
        using var h = new CanvasPolicyHarness();
        h.Backlog(100_000);
        Assert.False(h.Send(Fill, SolidFill(0, 0, 0, 8, 8, 0x112233)));
        Assert.False(h.Send(CopyBits, new B().Base(0, 8, 8, 16, 16).I32(0).I32(0).Build()));
        Assert.True(h.Send(Mark, []));
        Assert.True(h.Send(SurfaceCreate, B.SurfaceCreate(1, 8, 8, flags: 0)));
        Assert.True(h.Policy.Absorbing);
        Assert.Equal(2, h.Policy.DrawsAbsorbed);
        Assert.Equal([SurfaceCreate, Mark, SurfaceCreate], h.ClientTypes);
    }

    [Fact]
    public void BacklogDrainsBelowHalfBudget_NextMessageRefreshesFromCanvas_ClientEqualsCanvas()
    {
        using var h = new CanvasPolicyHarness();
        h.Send(Fill, SolidFill(0, 0, 0, 32, 32, 0x0000FF));
        h.Backlog(100_000);
        h.Send(Fill, SolidFill(0, 2, 2, 10, 10, 0x112233));
        h.Send(Copy, CopyOf(B.Bitmap32(1, 12, 12, Pattern), 12, 12, 24, 24));
        h.Send(Fill, SolidFill(0, 4, 20, 30, 31, 0x00FF00));
        h.Backlog(12 * 1024); // under the budget (16 KiB) but not under half of it: still absorbing
        Assert.False(h.Send(Fill, SolidFill(0, 0, 0, 1, 1, 0xFFFFFF)));
        h.Backlog(0);
        Assert.True(h.Send(Mark, []));
        Assert.False(h.Policy.Absorbing);
        Assert.True(h.Policy.RefreshRects > 0);
        Assert.Contains(Copy, h.ClientTypes);
        h.AssertClientEqualsCanvas();
        Assert.True(h.Send(Fill, SolidFill(0, 0, 0, 4, 4, 0x777777)));
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void Sampler_DestinationSlowToTakePieces_NeverOverfillsTheInjector()
    {
        // The relay's writer holds injected pieces until its stream takes them. Before the sampler looked at the backlog
        // ahead of its first piece, every 5 ms tick added one until the writer's bound was passed, and the sampler ended
        // for good: a slideshow's photos then waited for spice-server's next message (about 1 s) to be refreshed.
        var injector = new BacklogRecordingInjector();
        using var h = new CanvasPolicyHarness(width: 1024, height: 256, injector: injector);
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 1024, 256, Pattern), 0, 0, 1024, 256));
        h.Backlog(0);
        for (int i = 0; i < 50; i++)
        {
            h.Policy.Sample(); // nobody takes the pieces
            Assert.InRange(injector.PendingBytes, 0, (24 * 1024) + (16384 * 4) + 1024);
        }

        Assert.True(injector.PendingBytes >= 24 * 1024, $"{injector.PendingBytes} bytes waiting: the sampler stopped at its backlog, not before it");
        for (int i = 0; i < 200 && h.Policy.Absorbing; i++)
        {
            h.DrainInjected();
            h.Policy.Sample();
        }

        h.DrainInjected();
        Assert.False(h.Policy.Absorbing);
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void QuietAfterAbsorb_SamplerInjectsPieces_ClientEqualsCanvas()
    {
        using var h = new CanvasPolicyHarness(width: 300, height: 200);
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 200, 100, Pattern), 10, 10, 210, 110));
        h.Send(Fill, SolidFill(0, 250, 150, 300, 200, 0xABCDEF));
        h.Policy.Sample();
        Assert.Equal(0, h.Policy.RefreshRects); // still over the budget
        h.Backlog(0);
        for (int i = 0; i < 100 && h.Policy.Absorbing; i++)
        {
            h.Policy.Sample();
            h.DrainInjected();
        }

        Assert.False(h.Policy.Absorbing);
        Assert.True(h.Policy.RefreshRects > 1, "a 200x100 area is refreshed in pieces of at most 4096 pixels");
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void Refresh_SmallestDamageFirst_AnEchoOvertakesABusyRegion()
    {
        using var h = new CanvasPolicyHarness(width: 300, height: 200);
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 200, 100, Pattern), 10, 10, 210, 110)); // the busy region, first
        h.Send(Fill, SolidFill(0, 250, 150, 258, 166, 0xABCDEF));                   // the echo: one glyph, later
        h.Backlog(0);
        h.Send(Mark, []);
        Assert.True(h.ClientCopies.Count >= 2);
        Assert.Equal((250, 150, 258, 166), h.ClientCopies[0]);
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void Refresh_StopsAtTheBudget_TheRestWaitsForRoom()
    {
        using var h = new CanvasPolicyHarness(width: 600, height: 400, deliveryRate: () => 50_000_000); // fast: lossless
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 580, 380, Pattern), 0, 0, 580, 380)); // ~220k pixels: several bands
        h.Backlog(7 * 1024);                                                     // under half the budget (16 KiB): room for ~9 KiB
        h.Send(Mark, []);
        long first = h.Policy.RefreshRects;
        Assert.Equal(1, first); // one band goes even when it is larger than the room
        Assert.True(h.Policy.Absorbing);
        h.Backlog(0);
        for (int i = 0; i < 20 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        Assert.False(h.Policy.Absorbing);
        Assert.True(h.Policy.RefreshRects > first);
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void SlowPath_PhotoGoesAsJpeg_ThenLosslessOnceSettled_ClientEndsExact()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var h = new CanvasPolicyHarness(width: 300, height: 200, time: time, deliveryRate: () => 100_000); // 0.8 Mbit/s
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 200, 100, Pattern), 10, 10, 210, 110)); // photo-like: 40 KB lossless ≫ 50 ms
        h.Backlog(0);
        h.Send(Mark, []);
        Assert.True(h.Policy.LossyRects >= 1);
        Assert.True(h.Policy.LossyPending >= 1);
        Assert.True(h.DifferingPixels() > 0, "JPEG is lossy");
        Assert.True(h.Send(Fill, SolidFill(0, 250, 150, 260, 160, 0x123456)), "a draw passes while the client is only lossy");
        Assert.True(h.Policy.LossyPending >= 1, "not settled yet: no lossless refresh before the delay");

        // Drawn over (a video-rate region keeps moving): the lossy area is not settled until nothing drew there for 1 s.
        time.Advance(TimeSpan.FromMilliseconds(800));
        Assert.True(h.Send(Fill, SolidFill(0, 100, 50, 110, 60, 0x654321)));
        time.Advance(TimeSpan.FromMilliseconds(800));
        h.Send(Mark, []);
        Assert.True(h.Policy.LossyPending >= 1, "drawn over 800 ms ago: not settled");

        time.Advance(TimeSpan.FromMilliseconds(250));
        for (int i = 0; i < 20 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        Assert.Equal(0, h.Policy.LossyPending);
        Assert.False(h.Policy.Absorbing);
        h.AssertClientEqualsCanvas();
        Assert.True(h.Send(Fill, SolidFill(0, 0, 0, 4, 4, 0x777777)));
    }

    [Fact]
    public void SlowPath_LargePhotoDrawWithoutBacklog_IsAbsorbedAndSentAsJpeg_ThenExact()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        using var h = new CanvasPolicyHarness(width: 300, height: 200, time: time, deliveryRate: () => 100_000); // 0.8 Mbit/s
        // Nothing ahead, but the draw alone (80 KB of BITMAP) would hold the link 800 ms: refreshed as JPEG instead.
        Assert.False(h.Send(Copy, CopyOf(B.Bitmap32(1, 200, 100, Pattern), 10, 10, 210, 110)));
        h.Send(Mark, []);
        Assert.True(h.Policy.LossyRects >= 1);
        Assert.True(h.Policy.RefreshBytes < 40_000, $"refreshed {h.Policy.RefreshBytes} bytes");
        Assert.True(h.Send(Fill, SolidFill(0, 250, 150, 260, 160, 0x123456)), "small draws still pass");

        time.Advance(TimeSpan.FromMilliseconds(1050));
        for (int i = 0; i < 20 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void FastPath_PhotoStaysLossless()
    {
        using var h = new CanvasPolicyHarness(width: 300, height: 200, deliveryRate: () => 50_000_000); // 400 Mbit/s
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 200, 100, Pattern), 10, 10, 210, 110));
        h.Backlog(0);
        h.Send(Mark, []);
        Assert.Equal(0, h.Policy.LossyRects);
        Assert.False(h.Policy.Absorbing);
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void SmallDrawBehindABacklog_GoesAsPreviewDatagram_WithItsMarkerOnTheStream()
    {
        var sender = new RecordingPreviewSender();
        using var h = new CanvasPolicyHarness(width: 300, height: 200, previews: sender);
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 200, 100, Pattern), 10, 10, 210, 110)); // large: no preview
        Assert.Empty(sender.Sent);
        h.Send(Fill, SolidFill(0, 250, 150, 258, 166, 0xABCDEF));                   // the echo
        var (number, message) = Assert.Single(sender.Sent);
        Assert.Equal([number], h.Markers);
        Assert.Equal(1, h.Policy.PreviewsSent);

        // The datagram alone brings the echo's pixels to the client, before the backlog has drained.
        h.ApplyToClient(message);
        Assert.Equal((250, 150, 258, 166), h.ClientCopies[^1]);
        Assert.True(h.Policy.Canvas.TryGetSurface(0, out var edge));
        Assert.True(h.Client.TryGetSurface(0, out var client));
        for (int y = 150; y < 166; y++)
        {
            Assert.True(edge.Row(y).Slice(250 * 4, 8 * 4).SequenceEqual(client.Row(y).Slice(250 * 4, 8 * 4)));
        }

        // And the stream still makes the whole picture exact, in order.
        h.Backlog(0);
        for (int i = 0; i < 10 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void PreviewOfPixelsAnInFlightCopyBitsReads_WaitsForTheBarrierBehindIt_ClientEndsExact()
    {
        var sender = new RecordingPreviewSender();
        using var h = new CanvasPolicyHarness(width: 300, height: 200, previews: sender);
        h.Send(Fill, SolidFill(0, 10, 10, 90, 90, 0x00AA00));           // a window's content
        h.Backlog(8 * 1024);                                             // within the budget, but something is ahead
        h.InFlight = true;
        // The window (80 × 80: too large for a preview) moves right by COPY_BITS, then a strip of its old place is cleared.
        Assert.True(h.Send(CopyBits, new B().Base(0, 150, 10, 230, 90).I32(10).I32(10).Build()));
        Assert.False(h.Send(Fill, SolidFill(0, 10, 10, 90, 12, 0x000000)), "a previewed draw is absorbed (refreshed after its marker)");

        var (number, message) = Assert.Single(sender.Sent);
        uint barrier = sender.After[number];
        Assert.NotEqual(0u, barrier);
        Assert.Equal([], h.Markers); // still in flight
        Assert.Equal(1, h.Policy.PreviewsSent);

        // The datagram overtakes the stream: the client edge must hold it, or the COPY_BITS would copy the black strip.
        var clientEdge = new DisplayPreviewPolicy(new RecordingInjector());
        clientEdge.Offer(number, barrier, message);
        Assert.Equal(1, clientEdge.Held);
        h.Land(clientEdge);
        Assert.Equal(1, clientEdge.Shown);
        Assert.Equal([barrier, number], h.Markers.Take(2));

        h.Backlog(0);
        for (int i = 0; i < 10 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void PreviewShownBeforeAnInFlightCopyBitsThatReadsIt_WouldCorruptItsDestination()
    {
        // Why the barrier exists: the same sequence, the preview applied at once (as a client edge without barriers did).
        var sender = new RecordingPreviewSender();
        using var h = new CanvasPolicyHarness(width: 300, height: 200, previews: sender);
        h.Send(Fill, SolidFill(0, 10, 10, 90, 90, 0x00AA00));
        h.Backlog(8 * 1024);
        h.InFlight = true;
        h.Send(CopyBits, new B().Base(0, 150, 10, 230, 90).I32(10).I32(10).Build());
        h.Send(Fill, SolidFill(0, 10, 10, 90, 12, 0x000000));
        h.ApplyToClient(Assert.Single(sender.Sent).Message);
        h.Land(new DisplayPreviewPolicy(new RecordingInjector()));
        h.Backlog(0);
        for (int i = 0; i < 10 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        Assert.Equal(80 * 2, h.DifferingPixels()); // the strip the COPY_BITS copied from the preview, never repaired
    }

    [Fact]
    public void CopyBitsWhileDamagePending_PassesAndCarriesTheDamageItReads_ClientEndsExact()
    {
        using var h = new CanvasPolicyHarness(width: 128, height: 64);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 128, 64, Pattern), 0, 0, 128, 64));
        h.Backlog(100_000);
        // Absorbed: the client lacks it. Larger than an echo (4096 pixels), so it waits for the backlog to halve.
        Assert.False(h.Send(Fill, SolidFill(0, 0, 8, 128, 48, 0xFF0000)));
        h.Backlog(12 * 1024);                                                // within the budget, not under half: no refresh yet
        // Scroll the lower half up by 16 rows: the damaged strip's lower part moves to rows 16..32 on both sides.
        Assert.True(h.Send(CopyBits, new B().Base(0, 0, 16, 128, 48).I32(0).I32(32).Build()), "a COPY_BITS passes while damage is pending");
        Assert.True(h.Policy.Absorbing);
        Assert.False(h.Send(Fill, SolidFill(0, 0, 48, 128, 64, 0x00FF00))); // the new lines: absorbed (damage pending)

        h.Backlog(0);
        for (int i = 0; i < 10 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void ScrollingTerminal_BehindABacklog_CopyBitsPassAndOnlyNewLinesAreRefreshed_ClientEndsExact()
    {
        using var h = new CanvasPolicyHarness(width: 320, height: 240);
        h.Send(Copy, CopyOf(B.Bitmap32(1, 320, 240, Pattern), 0, 0, 320, 240));
        int passed = 0;
        for (int line = 0; line < 60; line++)
        {
            h.Backlog(line % 7 == 0 ? 100_000 : 12 * 1024); // now and then over the budget, mostly within it
            passed += h.Send(CopyBits, new B().Base(0, 0, 0, 320, 224).I32(0).I32(16).Build()) ? 1 : 0;
            h.Send(Fill, SolidFill(0, 0, 224, 320, 240, (uint)(0x010203 * line)));
            h.Send(Fill, SolidFill(0, 8 * (line % 40), 226, 8 * (line % 40) + 6, 238, 0xFFFFFF)); // a glyph
        }

        Assert.True(passed >= 50, $"{passed} of 60 scrolls passed");
        // Only the new lines were ever damaged: refreshes stayed small (a full-area refresh would be 320 × 240 per scroll).
        Assert.True(h.Policy.RefreshBytes < 60 * 320 * 16 * 4 / 2, $"refreshed {h.Policy.RefreshBytes} bytes");
        h.Backlog(0);
        for (int i = 0; i < 20 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void NothingAhead_NoPreview()
    {
        var sender = new RecordingPreviewSender();
        using var h = new CanvasPolicyHarness(width: 64, height: 64, previews: sender);
        Assert.True(h.Send(Fill, SolidFill(0, 1, 1, 9, 17, 0xABCDEF)));
        Assert.Empty(sender.Sent);
        Assert.Empty(h.Markers);
    }

    [Fact]
    public void CachedImageTheClientNeverGot_IsAbsorbed_OneItGot_Passes()
    {
        using var h = new CanvasPolicyHarness();
        h.Send(Copy, CopyOf(B.Bitmap32(6, 4, 4, Pattern, descriptorFlags: 1), 0, 0, 4, 4)); // forwarded: CACHE_ME 6
        h.Backlog(100_000);
        h.Send(Copy, CopyOf(B.Bitmap32(5, 4, 4, (x, y) => Pattern(y, x), descriptorFlags: 1), 4, 4, 8, 8)); // absorbed: CACHE_ME 5
        h.Backlog(0);
        h.Send(Mark, []); // refresh
        Assert.False(h.Policy.Absorbing);
        Assert.False(h.Send(Copy, CopyOf(B.FromCache(5, 4, 4), 8, 8, 12, 12)));
        h.Send(Mark, []);
        Assert.True(h.Send(Copy, CopyOf(B.FromCache(6, 4, 4), 12, 12, 16, 16)));
        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void ForwardedInvalidations_RemoveIdsFromWhatTheClientHas()
    {
        var state = new ClientDisplayState();
        foreach (ulong id in (ulong[])[6, 7])
        {
            var copy = CopyOf(B.Bitmap32(id, 4, 4, Pattern, descriptorFlags: 1), 0, 0, 4, 4);
            Assert.True(DisplayDrawMessage.TryParse(Copy, copy, out var draw));
            state.OnForwarded(draw);
        }

        Assert.True(state.HasCached(6) && state.HasCached(7));
        state.OnControlForwarded(InvalList, new B().U16(1).U8(1).Bytes(BitConverter.GetBytes(6UL)).Build());
        Assert.False(state.HasCached(6));
        Assert.True(state.HasCached(7));
        state.OnControlForwarded(InvalAllPixmaps, []);
        Assert.Equal(0, state.CachedIds);
    }

    [Fact]
    public void SurfaceDestroyed_ItsDamageIsDropped()
    {
        using var h = new CanvasPolicyHarness();
        h.Send(SurfaceCreate, B.SurfaceCreate(1, 8, 8, flags: 0));
        h.Backlog(100_000);
        h.Send(Fill, SolidFill(1, 0, 0, 8, 8, 0x123456));
        Assert.True(h.Policy.Absorbing);
        Assert.True(h.Send(SurfaceDestroy, BitConverter.GetBytes(1u)));
        Assert.False(h.Policy.Absorbing);
    }

    [Fact]
    public void StreamData_AbsorbedAsDamageOfItsStreamRect()
    {
        var state = new ClientDisplayState();
        var create = new B().U32(0).U32(7).U8(0).U8(1).Bytes(new byte[8]).U32(64).U32(48).U32(64).U32(48).Rect(10, 20, 74, 68).U8(0).Build();
        state.OnControlForwarded(StreamCreate, create);
        Assert.True(state.TryGetTarget(StreamData, new B().U32(7).U32(0).U32(0).Build(), out uint surface, out var box));
        Assert.Equal(0u, surface);
        Assert.Equal(new DamageRect(10, 20, 74, 68), box);
        state.OnControlForwarded(125, BitConverter.GetBytes(7u));
        Assert.False(state.TryGetTarget(StreamData, new B().U32(7).U32(0).U32(0).Build(), out _, out _));
    }

    [Theory]
    [InlineData(1, false)] // MJPEG: every frame stands alone
    [InlineData(3, true)]  // H.264: frames refer to earlier ones
    public void StreamFrameAbsorbed_LaterFramesOfAnInterFrameCodecDependOnMissing(byte codec, bool depends)
    {
        var state = new ClientDisplayState();
        var create = new B().U32(0).U32(7).U8(0).U8(codec).Bytes(new byte[8]).U32(64).U32(48).U32(64).U32(48).Rect(10, 20, 74, 68).U8(0).Build();
        state.OnControlForwarded(StreamCreate, create);
        var frame = new B().U32(7).U32(0).U32(0).Build();
        Assert.False(state.StreamDependsOnMissing(StreamData, frame));
        state.OnStreamFrameAbsorbed(StreamData, frame);
        Assert.Equal(depends, state.StreamDependsOnMissing(StreamData, frame));
        state.OnControlForwarded(StreamCreate, create); // the stream made anew (a new id or a re-create): a clean start
        Assert.False(state.StreamDependsOnMissing(StreamData, frame));
    }

    [Fact]
    public void GlzImageAbsorbed_EveryLaterGlzImageDependsOnMissing()
    {
        var state = new ClientDisplayState();
        var glz = GlzCopy(9);
        Assert.True(DisplayDrawMessage.TryParse(Copy, glz, out var draw));
        Assert.False(state.DependsOnMissing(draw, glz));
        state.OnAbsorbed(draw, glz);
        Assert.True(state.GlzGap);
        Assert.Null(state.EdgeGlz); // no GLZ header in this image: its id is unknown, refreshes stay LZ
        var later = GlzCopy(10);
        Assert.True(DisplayDrawMessage.TryParse(Copy, later, out var next));
        Assert.True(state.DependsOnMissing(next, later));
    }

    [Fact]
    public void Damage_KeepsAtMostSixteenRectsCoveringEveryAddedRect()
    {
        var damage = new DisplayDamage();
        var added = new List<DamageRect>();
        for (int i = 0; i < 40; i++)
        {
            var r = new DamageRect(i * 7 % 90, i * 13 % 70, i * 7 % 90 + 5, i * 13 % 70 + 3);
            added.Add(r);
            damage.Add(r);
        }

        Assert.InRange(damage.Count, 1, DisplayDamage.MaxRects);
        foreach (var r in added)
        {
            bool covered = false;
            for (int i = 0; i < damage.Count; i++)
            {
                covered |= damage[i].Contains(r);
            }

            Assert.True(covered, $"{r} is covered");
        }

        damage.Add(new DamageRect(0, 0, 100, 100));
        Assert.Equal(1, damage.Count);
    }

    [Fact]
    public void SixteenBitSurface_RefreshesThenStopsCoalescing()
    {
        using var h = new CanvasPolicyHarness();
        h.Backlog(100_000);
        h.Send(Fill, SolidFill(0, 0, 0, 8, 8, 0x112233));
        Assert.True(h.Send(SurfaceCreate, B.SurfaceCreate(2, 8, 8, format: 16, flags: 0)));
        Assert.False(h.Policy.Absorbing);
        Assert.Equal(BodyNeed.None, h.Policy.Examine(SpiceDirection.ServerToClient, Fill, 40));
        h.AssertClientEqualsCanvas();
    }

    /// <summary>A DRAW_COPY whose source is a GLZ_RGB image with a fake 16-byte payload (parsed, never decoded).</summary>
    [Fact]
    public void GlzTextAbsorbed_RefreshesGoAsGlz_ContinuingTheClientsIdsFromTheFirstMissingOne_ClientEndsExact()
    {
        using var server = new GlzEncoderDictionary(); // spice-server's GLZ stream: ids 0, 1, 2, 3
        using var h = new CanvasPolicyHarness();
        Assert.True(h.Send(Copy, CopyOf(GlzText(server, 0), 0, 0, 32, 8)));
        h.Backlog(100_000);
        Assert.False(h.Send(Copy, CopyOf(GlzText(server, 1), 0, 8, 32, 16)));
        Assert.False(h.Send(Copy, CopyOf(GlzText(server, 2), 0, 16, 32, 24)));
        h.Backlog(0);
        Assert.False(h.Send(Copy, CopyOf(GlzText(server, 3), 0, 24, 32, 32))); // after the gap: absorbed and refreshed
        Assert.True(h.Send(Mark, []));

        Assert.Equal(0ul, h.ClientGlzIds[0]);
        Assert.True(h.ClientGlzIds.Count > 1, "the refresh went as LZ_RGB");
        for (int i = 1; i < h.ClientGlzIds.Count; i++)
        {
            Assert.Equal((ulong)i, h.ClientGlzIds[i]); // the edge's ids start at the absorbed id 1, with no gap
        }

        h.AssertClientEqualsCanvas();
    }

    /// <summary>A DRAW_COPY source: 32 x 8 two-colour "text" (a different line per <paramref name="line"/>), GLZ-coded in <paramref name="server"/>.</summary>
    private static byte[] GlzText(GlzEncoderDictionary server, int line)
    {
        var pixels = new byte[32 * 8 * 4];
        var words = MemoryMarshal.Cast<byte, uint>(pixels.AsSpan());
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = ((i % 32) + (i / 32) + line) % 5 < 2 ? 0x000000u : 0xFFFFFFu;
        }

        var bitmap = BitmapDescriptor.Rgb32(32, 8);
        var payload = new byte[SpiceImageEncoder.GetMaxPayloadLength(SpiceImageType.GlzRgb, 32, 8, bitmap.Format)];
        Assert.Equal(OperationStatus.Done, SpiceImageEncoder.Encode(SpiceImageType.GlzRgb, pixels, bitmap, payload, out int n, out var type, server));
        return DrawMessages.Image((ulong)line + 1, type, 0, 32, 8, payload.AsSpan(0, n));
    }

    private static byte[] GlzCopy(ulong id)
    {
        var image = new List<byte>();
        image.AddRange(BitConverter.GetBytes(id));
        image.Add((byte)global::Spice.Codecs.SpiceImageType.GlzRgb);
        image.Add(0);
        image.AddRange(BitConverter.GetBytes(4u));
        image.AddRange(BitConverter.GetBytes(4u));
        image.AddRange(BitConverter.GetBytes(16u));
        image.AddRange(new byte[16]);
        return CopyOf([.. image], 0, 0, 4, 4);
    }
}
