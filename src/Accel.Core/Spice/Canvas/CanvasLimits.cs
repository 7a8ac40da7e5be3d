namespace Accel.Core.Spice.Canvas;

/// <summary>Bounds on what a display channel's server may make the canvas hold. Exceeding one is a protocol error.</summary>
internal sealed class CanvasLimits
{
    public static CanvasLimits Default { get; } = new();

    /// <summary>Surfaces alive at once (Xspice's QXL driver uses a few hundred off-screen surfaces at most).</summary>
    public int MaxSurfaces { get; init; } = 1024;

    /// <summary>Largest side of a surface or image.</summary>
    public int MaxDimension { get; init; } = 16384;

    /// <summary>Pixels of all surfaces together (256 MiB at 32 bpp).</summary>
    public long MaxSurfacePixels { get; init; } = 64L * 1024 * 1024;

    /// <summary>Pixels of one decoded image.</summary>
    public long MaxImagePixels { get; init; } = 16L * 1024 * 1024;

    /// <summary>
    /// Image cache size in pixels when the client has not announced one (DISPLAY_INIT); spice-gtk announces 80 MiB / 4.
    /// The server mirrors the client's cache and evicts within the announced size; the canvas allows twice that before
    /// it calls the server broken.
    /// </summary>
    public long DefaultImageCachePixels { get; init; } = 80L * 1024 * 1024 / 4;

    /// <summary>Hard cap on the image cache whatever the client announced.</summary>
    public long MaxImageCachePixels { get; init; } = 128L * 1024 * 1024 / 4;

    /// <summary>Palettes kept (the server manages 128).</summary>
    public int MaxPalettes { get; init; } = 1024;

    /// <summary>Video streams alive at once.</summary>
    public int MaxStreams { get; init; } = 64;
}
