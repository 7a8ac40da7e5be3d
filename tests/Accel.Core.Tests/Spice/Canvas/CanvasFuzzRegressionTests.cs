using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Protocol;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Core.Tests.Spice.Canvas;

/// <summary>
/// Inputs the fuzzer found (docs/fuzzing.md; the raw inputs are in tests/Fuzz/crashes and replay in Accel.Fuzz.Tests),
/// each reduced to the message that shows the bug, with the clear error it now gets.
/// </summary>
public sealed class CanvasFuzzRegressionTests
{
    private const ushort Rop3 = 309, Stroke = 310, Transparent = 312, Composite = 318, SurfaceCreate = 314;

    private static DisplayCanvas NewCanvas()
    {
        var canvas = new DisplayCanvas();
        canvas.Apply(SurfaceCreate, B.SurfaceCreate(0, 64, 64));
        return canvas;
    }

    // The scaled copy of the source is the box's size: a box far larger than the surface sized an allocation
    // (OutOfMemoryException, or OverflowException in the stride) before it was clipped.
    public static TheoryData<int, int, int, int> BoxesOutsideTheSurface => new()
    {
        { 0, 0, 1 << 30, 1 << 30 },
        { 0, 0, int.MaxValue, 8 },
        { -5, 0, 8, 8 },
        { 60, 60, 65, 64 },
        { int.MaxValue - 10, 0, int.MinValue + 5, 1 << 30 }, // inverted: Right - Left overflows to a small width
        { 0x7F000060, 0, unchecked((int)0xE8030010), 16 }, // inverted, within the surface's height: the width overflows to 1.7e9
    };

    [Theory]
    [MemberData(nameof(BoxesOutsideTheSurface))]
    public void Rop3_BoxOutsideTheSurface_ProtocolErrorBeforeAnyAllocation(int left, int top, int right, int bottom)
    {
        using var canvas = NewCanvas();
        var message = new B().Base(0, left, top, right, bottom).Pointer(B.Bitmap32(1, 2, 2, (_, _) => 0xFF)).Rect(0, 0, 2, 2)
            .U8(1).U32(0xFF00).U8(0xCA).U8(0).NoMask().Build();
        long allocations = canvas.PoolAllocations;
        var error = Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Rop3, message));
        Assert.Equal(SpiceProtocolError.InvalidValue, error.Error);
        Assert.Equal(allocations, canvas.PoolAllocations);
    }

    [Theory]
    [MemberData(nameof(BoxesOutsideTheSurface))]
    public void TransparentAndComposite_BoxOutsideTheSurface_ProtocolError(int left, int top, int right, int bottom)
    {
        using var canvas = NewCanvas();
        var transparent = new B().Base(0, left, top, right, bottom).Pointer(B.Bitmap32(1, 2, 2, (_, _) => 0xFF)).Rect(0, 0, 2, 2).U32(0).U32(0).Build();
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Transparent, transparent));
        var composite = new B().Base(0, left, top, right, bottom).U32(3).Pointer(B.Bitmap32(2, 2, 2, (_, _) => 0xFF)).U32(0).U32(0).Build();
        Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Composite, composite));
    }

    // The operator and filters went to pixman unchecked: an operator in a gap of pixman's ranges killed the process
    // (segmentation fault after "No known combine function"); convolution filters read parameters that are not there.
    [Theory]
    [InlineData(0x0Eu)]
    [InlineData(0x1Cu)]
    [InlineData(0x3Fu)]
    [InlineData(0xFFu)]
    [InlineData(3u | (6u << 8))]
    [InlineData(3u | (5u << 11) | (1u << 19))]
    public void Composite_OperatorOrFilterPixmanDoesNotHave_ProtocolError(uint flags)
    {
        using var canvas = NewCanvas();
        var b = new B().Base(0, 0, 0, 8, 8).U32(flags).Pointer(B.Bitmap32(2, 2, 2, (_, _) => 0xFF));
        if ((flags & (1u << 19)) != 0)
        {
            b.Pointer(B.Mask1(2, 2, (_, _) => true));
        }

        var error = Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Composite, b.U32(0).U32(0).Build()));
        Assert.Equal(SpiceProtocolError.InvalidValue, error.Error);
    }

    [Theory]
    [InlineData(0x03u)] // OVER
    [InlineData(0x1Bu)] // DISJOINT_XOR
    [InlineData(0x3Eu | (4u << 8))] // HSL_LUMINOSITY, BILINEAR
    public void Composite_OperatorsAndFiltersPixmanHas_Draw(uint flags)
    {
        using var canvas = NewCanvas();
        canvas.Apply(Composite, new B().Base(0, 0, 0, 8, 8).U32(flags).Pointer(B.Bitmap32(2, 2, 2, (_, _) => 0xFF0000FF)).U32(0).U32(0).Build());
        Assert.Equal(1, canvas.Applied[Composite]);
    }

    // A bezier whose chord is under a quarter pixel never passed the flatness test ("h < b2" with b2 = 0) and split to
    // the depth bound (64) on both halves: 2^64 pieces, a display channel and a core gone for good. The fuzzer's input
    // was this curve: (0,0) (0,0) (0,0) (0,1/16).
    [Fact]
    public async Task Stroke_BezierWithinOnePixel_DrawsItsEndPointQuickly()
    {
        using var canvas = NewCanvas();
        var path = new B().U32(1).U8(1 | 2 | 16).U32(4).I32(5 << 4).I32(7 << 4).I32(5 << 4).I32(7 << 4).I32(5 << 4).I32(7 << 4).I32(5 << 4).I32((7 << 4) + 1).Build();
        var message = new B().Base(0, 0, 0, 64, 64).Pointer(path).U8(0).U8(1).U32(0xFF).U16(8).U16(8).Build();
        await Task.Run(() => canvas.Apply(Stroke, message), TestContext.Current.CancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(1, canvas.Applied[Stroke]);
    }

    [Fact]
    public async Task Stroke_MoreThanMaxPathPoints_ProtocolErrorQuickly()
    {
        using var canvas = NewCanvas();
        var path = new B().U32(1).U8(1 | 2).U32(CanvasStroke.MaxPathPoints + 1);
        for (int i = 0; i <= CanvasStroke.MaxPathPoints; i++)
        {
            path.I32((i % 64) << 4).I32((i / 64 % 64) << 4);
        }

        var message = new B().Base(0, 0, 0, 64, 64).Pointer(path.Build()).U8(0).U8(1).U32(0xFF).U16(8).U16(8).Build();
        var draw = Task.Run(() => Assert.Throws<SpiceProtocolException>(() => canvas.Apply(Stroke, message)), TestContext.Current.CancellationToken);
        var error = await draw.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        Assert.Equal(SpiceProtocolError.InvalidValue, error.Error);
    }

    [Fact]
    public void Stroke_BezierOfARealCurve_StillDraws()
    {
        using var canvas = NewCanvas();
        var path = new B().U32(1).U8(1 | 2 | 16).U32(4).I32(2 << 4).I32(60 << 4).I32(2 << 4).I32(2 << 4).I32(60 << 4).I32(2 << 4).I32(60 << 4).I32(60 << 4).Build();
        canvas.Apply(Stroke, new B().Base(0, 0, 0, 64, 64).Pointer(path).U8(0).U8(1).U32(0xFF).U16(8).U16(8).Build());
        Assert.True(canvas.TryGetSurface(0, out var surface));
        Assert.Equal(0xFFu, BitConverter.ToUInt32(surface.Row(60)[(2 * 4)..]) & 0xFFFFFF);
    }

    [Fact]
    public void Rop3_BoxInsideTheSurface_StillScalesAndDraws()
    {
        using var canvas = NewCanvas();
        var message = new B().Base(0, 0, 0, 64, 64).Pointer(B.Bitmap32(1, 2, 2, (_, _) => 0x00FF00)).Rect(0, 0, 2, 2)
            .U8(1).U32(0).U8(0xCC).U8(1).NoMask().Build(); // rop3 0xCC: source copy; scale mode NEAREST
        canvas.Apply(Rop3, message);
        Assert.True(canvas.TryGetSurface(0, out var surface));
        Assert.Equal(0x00FF00u, BitConverter.ToUInt32(surface.Row(32)[(32 * 4)..]) & 0xFFFFFF);
    }
}
