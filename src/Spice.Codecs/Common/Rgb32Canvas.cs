using System.Runtime.InteropServices;

namespace Spice.Codecs;

/// <summary>
/// A top-down BGRX (SPICE 32BIT / surface format 32_xRGB) pixel canvas, the target every decoder can write to.
/// </summary>
public sealed class Rgb32Canvas
{
    private readonly byte[] _pixels;

    public Rgb32Canvas(int width, int height, CodecLimits? limits = null)
    {
        limits ??= CodecLimits.Default;
        if (!limits.Allows(width, height, 4))
        {
            throw new ArgumentOutOfRangeException(nameof(width), "Canvas size exceeds the configured limits.");
        }

        Width = width;
        Height = height;
        _pixels = new byte[width * height * 4];
    }

    public int Width { get; }

    public int Height { get; }

    public int Stride => Width * 4;

    public Span<byte> Pixels => _pixels;

    public BitmapDescriptor Descriptor => BitmapDescriptor.Rgb32(Width, Height);

    public Span<byte> Row(int y) => _pixels.AsSpan(y * Stride, Stride);

    public uint GetPixel(int x, int y) => MemoryMarshal.Read<uint>(_pixels.AsSpan((y * Width + x) * 4));
}
