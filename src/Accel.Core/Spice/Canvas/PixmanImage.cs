using System.Runtime.InteropServices;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// Pixels in native memory (4-byte aligned rows) with a pixman image over them. Owns both; a view
/// (<see cref="CreateView"/>) shares another image's pixels under another format and frees only its pixman handle; a
/// pooled image (<see cref="ImagePool"/>) goes back to its pool on dispose, keeping its buffer for the next rent.
/// </summary>
internal sealed unsafe class PixmanImage : IDisposable
{
    private readonly bool _ownsPixels;
    private readonly ImagePool? _pool;
    private byte* _pixels;
    private nint _handle;

    /// <summary>A zeroed image of its own (surfaces).</summary>
    public PixmanImage(uint format, int width, int height)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "An image has a positive size.");
        }

        Capacity = BytesFor(format, width, height);
        _pixels = (byte*)NativeMemory.AlignedAlloc((nuint)Capacity, 16);
        _ownsPixels = true;
        Shape(format, width, height, clear: true);
    }

    /// <summary>A pooled buffer of <paramref name="capacity"/> bytes, shaped by <see cref="ImagePool.Rent"/>.</summary>
    internal PixmanImage(ImagePool pool, long capacity)
    {
        Capacity = Math.Max(capacity, 16);
        _pixels = (byte*)NativeMemory.AlignedAlloc((nuint)Capacity, 16);
        _ownsPixels = true;
        _pool = pool;
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

    public uint Format { get; private set; }

    public int Width { get; private set; }

    public int Height { get; private set; }

    public int Stride { get; private set; }

    /// <summary>Bytes of the native buffer (at least <see cref="Bytes"/>).</summary>
    public long Capacity { get; }

    public int Bpp => PixmanFormat.Bpp(Format);

    public bool HasAlpha => ((Format >> 12) & 0xF) != 0;

    /// <summary>The pixman image (valid until disposed).</summary>
    public nint Handle => _handle;

    public byte* Pixels => _pixels;

    public long Bytes => (long)Stride * Height;

    public Span<byte> Row(int y) => new(_pixels + (long)y * Stride, Stride);

    public Span<byte> Span => new(_pixels, checked((int)Bytes));

    public static int StrideFor(uint format, int width) => checked((int)(((long)width * PixmanFormat.Bpp(format) + 31) / 32 * 4));

    public static long BytesFor(uint format, int width, int height) => (long)StrideFor(format, width) * height;

    /// <summary>A pixman image over the same pixels with another format of the same depth (e.g. alpha dropped).</summary>
    public PixmanImage CreateView(uint format) => new(this, format);

    /// <summary>Gives the buffer a format and size (a fresh pixman image over it).</summary>
    internal void Shape(uint format, int width, int height, bool clear)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "An image has a positive size.");
        }

        Format = format;
        Width = width;
        Height = height;
        Stride = StrideFor(format, width);
        if (Bytes > Capacity)
        {
            throw new ArgumentOutOfRangeException(nameof(width), "The image does not fit its buffer.");
        }

        if (clear)
        {
            NativeMemory.Clear(_pixels, (nuint)Bytes);
        }

        _handle = PixmanNative.CreateBits(format, width, height, _pixels, Stride);
        if (_handle == 0)
        {
            throw new InvalidOperationException("pixman could not create an image.");
        }
    }

    /// <summary>Releases the image: back to its pool, or freed. A second call does nothing.</summary>
    public void Dispose()
    {
        if (_handle == 0)
        {
            return; // disposed already, or a pooled buffer waiting in its pool
        }

        PixmanNative.Unref(_handle);
        _handle = 0;
        if (_pool is not null && _pool.Return(this))
        {
            return;
        }

        Free();
    }

    /// <summary>Frees the native buffer (a pooled image leaving the pool for good).</summary>
    internal void Free()
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
