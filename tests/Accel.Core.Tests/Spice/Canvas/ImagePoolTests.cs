using Accel.Core.Spice.Canvas;

namespace Accel.Core.Tests.Spice.Canvas;

public sealed class ImagePoolTests
{
    [Fact]
    public void Rent_AfterReturn_ReusesTheBufferAndClearsWhenAsked()
    {
        using var pool = new ImagePool();
        var first = pool.Rent(PixmanFormat.X8R8G8B8, 64, 32, clear: true);
        first.Row(3).Fill(0xAB);
        first.Dispose();
        first.Dispose(); // a second dispose does nothing (the buffer stays in the pool once)
        var again = pool.Rent(PixmanFormat.A8, 100, 40, clear: true);
        Assert.Same(first, again);
        Assert.Equal(1, pool.Allocations);
        Assert.Equal(PixmanFormat.A8, again.Format);
        Assert.All(again.Span.ToArray(), b => Assert.Equal(0, b));
        var other = pool.Rent(PixmanFormat.X8R8G8B8, 64, 32, clear: false); // the first is out: a new buffer
        Assert.NotSame(again, other);
        Assert.Equal(2, pool.Allocations);
        again.Dispose();
        other.Dispose();
    }

    [Fact]
    public void Return_FullPool_KeepsTheLargestBuffersAndTinyRentsSkipHugeBuffers()
    {
        using var pool = new ImagePool();
        var small = Enumerable.Range(0, ImagePool.MaxFree).Select(i => pool.Rent(PixmanFormat.A8, 8 + i, 8, clear: false)).ToList();
        var large = pool.Rent(PixmanFormat.X8R8G8B8, 1024, 768, clear: false);
        small.ForEach(i => i.Dispose());
        large.Dispose(); // the pool is full of small buffers: the smallest goes, the large one stays
        long before = pool.Allocations;
        var reused = pool.Rent(PixmanFormat.X8R8G8B8, 1000, 700, clear: false);
        Assert.Same(large, reused);
        var tiny = pool.Rent(PixmanFormat.A1, 4, 4, clear: false);
        Assert.NotSame(large, tiny);
        Assert.Equal(before, pool.Allocations); // both came from the pool
        reused.Dispose();
        tiny.Dispose();
    }
}
