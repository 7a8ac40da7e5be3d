using Accel.Core.Spice.Display;
using Microsoft.Extensions.Time.Testing;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Core.Tests.Spice.Policies;

/// <summary>
/// A key echo behind a busy screen (issue #9: input never waits behind display data the edges own): echo-sized damage
/// goes as soon as the display budget has room, and previews are kept for the echo, not spent on the busy region.
/// The harness's budget is 16 KiB.
/// </summary>
public sealed class CanvasEchoTests
{
    private const ushort Fill = 302, Copy = 304, Mark = 102;
    private const int RopPut = 8;

    private static byte[] SolidFill(int l, int t, int r, int b, uint color) =>
        new B().Base(0, l, t, r, b).U8(1).U32(color).U16(RopPut).NoMask().Build();

    private static byte[] Busy() =>
        new B().Base(0, 10, 10, 210, 110).Pointer(B.Bitmap32(1, 200, 100, static (x, y) => (uint)(x * 7 ^ y * 13))).Rect(0, 0, 200, 100).U16(RopPut).U8(0).NoMask().Build();

    [Fact]
    public void EchoAbsorbedBehindBusyDamage_BudgetHasRoomButNotHalf_EchoRefreshedAtOnce_BusyAreaWaits()
    {
        using var h = new CanvasPolicyHarness(width: 300, height: 200);
        h.Backlog(100_000);
        Assert.False(h.Send(Copy, Busy()));                                 // 20 000 pixels of fresh damage
        h.Backlog(12 * 1024);                                               // within the budget, not under half of it
        Assert.False(h.Send(Fill, SolidFill(250, 150, 258, 166, 0xABCDEF))); // the echo: absorbed (damage is pending)...
        Assert.Equal([(250, 150, 258, 166)], h.ClientCopies);               // ...and its pixels written right behind it
        Assert.True(h.Policy.Absorbing, "the busy area waits for the backlog to halve");

        h.Backlog(0);
        for (int i = 0; i < 20 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void EchoAbsorbedWhileTheBacklogIsUnderHalf_EchoWrittenFirst_TheBusyAreaBehindIt()
    {
        // Before, the refresh of the busy area went before the echo's message was even looked at, and took the room:
        // the echo waited for the sampler or the next message.
        using var h = new CanvasPolicyHarness(width: 300, height: 200);
        h.Backlog(100_000);
        Assert.False(h.Send(Copy, Busy()));                                 // 20 000 pixels of fresh damage
        h.Backlog(0);                                                       // the whole budget free
        Assert.False(h.Send(Fill, SolidFill(250, 150, 258, 166, 0xABCDEF))); // the echo: absorbed (damage is pending)
        Assert.Equal((250, 150, 258, 166), h.ClientCopies[0]);              // its pixels first...
        Assert.True(h.ClientCopies.Count > 1, "the busy area's refresh follows in the same write");
        for (int i = 0; i < 20 && h.Policy.Absorbing; i++)
        {
            h.Send(Mark, []);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void EchoPending_BacklogAtTheBudget_NothingWritten()
    {
        using var h = new CanvasPolicyHarness(width: 300, height: 200);
        h.Backlog(100_000);
        h.Send(Copy, Busy());
        h.Backlog(16 * 1024);
        Assert.False(h.Send(Fill, SolidFill(250, 150, 258, 166, 0xABCDEF)));
        h.Policy.Sample();
        h.DrainInjected();
        Assert.Empty(h.ClientCopies);
    }

    [Fact]
    public void Sampler_BudgetHasRoomButNotHalf_InjectsOnlyEchoSizedDamage()
    {
        using var h = new CanvasPolicyHarness(width: 300, height: 200);
        h.Backlog(100_000);
        h.Send(Copy, Busy());
        h.Send(Fill, SolidFill(250, 150, 258, 166, 0xABCDEF));
        h.Backlog(12 * 1024);
        h.Policy.Sample();
        h.DrainInjected();
        Assert.Equal([(250, 150, 258, 166)], h.ClientCopies);
        Assert.True(h.Policy.Absorbing);
    }

    [Fact]
    public void BusyRegionOfSmallDraws_SpendsNoPreviews_TheEchoElsewhereStillGetsOne()
    {
        // Before previews skipped busy cells, a flooding terminal's small draws took every token of the bucket (20, then
        // 100 a second) and the echo, arriving among them, went without a preview: measured under bench/netem's flood,
        // 4384 refusals for want of a token and the echo waiting ~50 ms for the backlog to halve.
        var time = new FakeTimeProvider();
        var sender = new RecordingPreviewSender();
        using var h = new CanvasPolicyHarness(width: 300, height: 200, time: time, previews: sender);
        h.Backlog(100_000);
        for (int line = 0; line < 200; line++)
        {
            int x = 8 * (line % 20);
            h.Send(Fill, SolidFill(x, 20, x + 8, 36, 0x010101u * (uint)line)); // a terminal printing: 3 draws per ms
            time.Advance(TimeSpan.FromMilliseconds(0.3));
        }

        h.Send(Fill, SolidFill(0, 20, 8, 36, 0x123456)); // one more line, the very moment the echo comes

        int busy = sender.Sent.Count;
        Assert.InRange(busy, 1, 24); // its first draws, until the cells ran hot
        h.Send(Fill, SolidFill(250, 150, 258, 166, 0xABCDEF));                   // the echo, in a still part of the screen
        Assert.True(busy + 1 == sender.Sent.Count, $"the echo got no preview ({busy} previews of the busy region before it)");
        h.ApplyToClient(sender.Sent[^1].Message);
        Assert.Equal((250, 150, 258, 166), h.ClientCopies[^1]);
    }

    [Theory]
    [InlineData(0.0, false)]
    [InlineData(0.01, true)]
    public void IdleScreen_EchoSizedDraw_AlsoPreviewed_OnlyWhileTheLinkLosesPackets(double loss, bool previewed)
    {
        // Issue #16: on an idle screen nothing is queued, so a preview would not overtake anything — but when the edge
        // connection loses packets, the echo's stream packet may be the one lost; its datagram twin repairs that
        // without a retransmission timeout.
        var sender = new RecordingPreviewSender();
        using var h = new CanvasPolicyHarness(width: 300, height: 200, previews: sender, loss: () => loss);
        h.Backlog(0);
        bool forwarded = h.Send(Fill, SolidFill(250, 150, 258, 166, 0xABCDEF));
        Assert.Equal(previewed ? 1 : 0, sender.Sent.Count);
        Assert.Equal(!previewed, forwarded); // a previewed draw is absorbed: its area follows its marker as a refresh...
        if (previewed)
        {
            Assert.Equal((250, 150, 258, 166), h.ClientCopies[^1]); // ...at once, behind it on the stream
            Assert.False(h.Policy.Absorbing);
        }

        h.AssertClientEqualsCanvas();
    }

    [Fact]
    public void DrawHeat_CountsDrawsPerCell_HalvesEveryQuarterSecond_CellsApart()
    {
        var heat = new DrawHeat(1000);
        var cell = new DamageRect(0, 0, 8, 16);
        for (int i = 0; i < 20; i++)
        {
            heat.Touch(cell, 640, 480, now: 1000);
        }

        Assert.Equal(20, heat.HeatOf(cell, 1000), 3);
        Assert.Equal(10, heat.HeatOf(cell, 1250), 3);
        Assert.Equal(0, heat.HeatOf(new DamageRect(64, 0, 72, 16), 1000));  // the next cell
        Assert.Equal(20, heat.HeatOf(new DamageRect(60, 0, 70, 16), 1000), 3); // a box over both: its hottest cell
        heat.Touch(cell, 800, 600, now: 1000);                              // a new screen size starts over
        Assert.Equal(1, heat.HeatOf(cell, 1000), 3);
        Assert.Equal(0, heat.HeatOf(new DamageRect(5000, 5000, 5008, 5016), 1000)); // off the screen
    }
}
