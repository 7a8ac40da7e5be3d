namespace Accel.Core.Spice.Canvas;

/// <summary>
/// Pixel buffers for the images a draw decodes or needs for a moment (decoded images, scaled copies, composite
/// scratch, glyph masks, stream frames): a returned image keeps its native buffer and its object for the next rent
/// that fits, so the steady state allocates nothing. Bounded: at most <see cref="MaxFree"/> images and
/// <see cref="MaxFreeBytes"/> bytes wait in the pool; beyond that a returned image is freed. One per canvas (not
/// thread-safe).
/// </summary>
internal sealed class ImagePool : IDisposable
{
    public const int MaxFree = 16;
    public const long MaxFreeBytes = 64L * 1024 * 1024;

    private readonly PixmanImage?[] _free = new PixmanImage?[MaxFree];
    private long _freeBytes;
    private bool _disposed;

    /// <summary>Images rented that had to be allocated (diagnostics; flat in the steady state).</summary>
    public long Allocations { get; private set; }

    /// <summary>An image of the given shape; its pixels are zero when <paramref name="clear"/>, else undefined.</summary>
    public PixmanImage Rent(uint format, int width, int height, bool clear)
    {
        long needed = PixmanImage.BytesFor(format, width, height);
        int best = -1;
        for (int i = 0; i < _free.Length; i++)
        {
            var candidate = _free[i];
            if (candidate is not null && candidate.Capacity >= needed && candidate.Capacity <= Math.Max(needed * 4, 1 << 16)
                && (best < 0 || candidate.Capacity < _free[best]!.Capacity))
            {
                best = i;
            }
        }

        PixmanImage image;
        if (best >= 0)
        {
            image = _free[best]!;
            _free[best] = null;
            _freeBytes -= image.Capacity;
        }
        else
        {
            // A little headroom so images of similar sizes share buffers.
            image = new PixmanImage(this, needed + (needed >> 3));
            Allocations++;
        }

        image.Shape(format, width, height, clear);
        return image;
    }

    /// <summary>
    /// Takes an image back (called by its Dispose); false when the pool is disposed or full of larger buffers, and the
    /// image frees itself. A full pool gives up its smallest buffer for a larger one (large ones cost most to make).
    /// </summary>
    internal bool Return(PixmanImage image)
    {
        if (_disposed || image.Capacity > MaxFreeBytes)
        {
            return false;
        }

        int slot = -1;
        for (int i = 0; i < _free.Length; i++)
        {
            if (_free[i] is null)
            {
                slot = i;
                break;
            }

            if (_free[i]!.Capacity < image.Capacity && (slot < 0 || _free[i]!.Capacity < _free[slot]!.Capacity))
            {
                slot = i;
            }
        }

        if (slot < 0)
        {
            return false;
        }

        if (_free[slot] is { } evicted)
        {
            _freeBytes -= evicted.Capacity;
            evicted.Free();
            _free[slot] = null;
        }

        // Over the byte bound: drop the smallest waiting buffers until the new one fits.
        while (_freeBytes + image.Capacity > MaxFreeBytes && EvictSmallest())
        {
        }

        if (_freeBytes + image.Capacity > MaxFreeBytes)
        {
            return false;
        }

        _free[slot] = image;
        _freeBytes += image.Capacity;
        return true;
    }

    private bool EvictSmallest()
    {
        int smallest = -1;
        for (int i = 0; i < _free.Length; i++)
        {
            if (_free[i] is not null && (smallest < 0 || _free[i]!.Capacity < _free[smallest]!.Capacity))
            {
                smallest = i;
            }
        }

        if (smallest < 0)
        {
            return false;
        }

        _freeBytes -= _free[smallest]!.Capacity;
        _free[smallest]!.Free();
        _free[smallest] = null;
        return true;
    }

    public void Dispose()
    {
        _disposed = true;
        for (int i = 0; i < _free.Length; i++)
        {
            _free[i]?.Free();
            _free[i] = null;
        }

        _freeBytes = 0;
    }
}
