using System.Runtime.InteropServices;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// Pixels in native memory (zeroed, 4-byte aligned rows) with a pixman image over them. Owns both; a view
/// (<see cref="CreateView"/>) shares another image's pixels under another format and frees only its pixman handle.
/// </summary>
internal sealed unsafe class PixmanImage : IDisposable
{
    private readonly bool _ownsPixels;
    private byte* _pixels;
    private nint _handle;

    public PixmanImage(uint format, int width, int height)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "An image has a positive size.");
        }

        Format = format;
        Width = width;
        Height = height;
        Stride = checked((int)(((long)width * PixmanFormat.Bpp(format) + 31) / 32 * 4));
        _pixels = (byte*)NativeMemory.AlignedAlloc((nuint)((long)Stride * height), 16);
        NativeMemory.Clear(_pixels, (nuint)((long)Stride * height));
        _ownsPixels = true;
        _handle = PixmanNative.CreateBits(format, width, height, _pixels, Stride);
        if (_handle == 0)
        {
            NativeMemory.AlignedFree(_pixels);
            throw new InvalidOperationException("pixman could not create an image.");
        }
    }

    private PixmanImage(PixmanImage owner, uint format)
    {
        Format = format;
        Width = owner.Width;
        Height = owner.Height;
        Stride = owner.Stride;
        _pixels = owner._pixels;
        _handle = PixmanNative.CreateBits(format, Width, Height, _pixels, Stride);
    }

    public uint Format { get; }

    public int Width { get; }

    public int Height { get; }

    public int Stride { get; }

    public int Bpp => PixmanFormat.Bpp(Format);

    public bool HasAlpha => ((Format >> 12) & 0xF) != 0;

    /// <summary>The pixman image (valid until disposed).</summary>
    public nint Handle => _handle;

    public byte* Pixels => _pixels;

    public long Bytes => (long)Stride * Height;

    public Span<byte> Row(int y) => new(_pixels + (long)y * Stride, Stride);

    public Span<byte> Span => new(_pixels, checked((int)Bytes));

    /// <summary>A pixman image over the same pixels with another format of the same depth (e.g. alpha dropped).</summary>
    public PixmanImage CreateView(uint format) => new(this, format);

    public void Dispose()
    {
        if (_handle != 0)
        {
            PixmanNative.Unref(_handle);
            _handle = 0;
        }

        if (_ownsPixels && _pixels != null)
        {
            NativeMemory.AlignedFree(_pixels);
        }

        _pixels = null;
    }
}
