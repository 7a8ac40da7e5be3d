namespace Spice.Codecs;

/// <summary>
/// Caps checked against every header before anything is allocated or written (decompression bombs).
/// </summary>
public sealed class CodecLimits
{
    /// <summary>16384 × 16384 pixels, 256 MiB of output.</summary>
    public static CodecLimits Default { get; } = new();

    public int MaxWidth { get; init; } = 16384;

    public int MaxHeight { get; init; } = 16384;

    public long MaxOutputBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>True when a <paramref name="width"/> × <paramref name="height"/> image with <paramref name="bytesPerPixel"/> fits the limits.</summary>
    public bool Allows(long width, long height, int bytesPerPixel)
    {
        return width > 0 && height > 0 && width <= MaxWidth && height <= MaxHeight
            && width * height * bytesPerPixel <= MaxOutputBytes;
    }
}
