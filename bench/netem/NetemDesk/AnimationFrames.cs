namespace NetemDesk;

/// <summary>
/// The animation's frames: a window-sized view of a larger photo-like texture that glides as a function of the frame's
/// time code, with the <see cref="FrameMarker"/> at its top-left. The probe composes the same frame from the marker it
/// reads, so it can compare what the client shows with what was drawn (PSNR).
/// </summary>
public static class AnimationFrames
{
    /// <summary>How far the view travels over the texture, in pixels, each way.</summary>
    public const int Travel = 200;

    private const int Seed = 17;

    /// <summary>The texture behind a window of <paramref name="width"/> × <paramref name="height"/> (it is <see cref="Travel"/> larger each way).</summary>
    public static uint[] Texture(int width, int height) => Photos.Render(width + Travel, height + Travel, Seed);

    /// <summary>Where the view of the frame with <paramref name="code"/> starts on the texture.</summary>
    public static (int X, int Y) Offset(uint code)
    {
        var t = FrameMarker.CodeMs(code) / 1000.0;
        return ((int)(Travel / 2 * (1 + Math.Sin(t * 1.7))), (int)(Travel / 2 * (1 + Math.Sin((t * 1.1) + 1))));
    }

    /// <summary>Composes the frame with <paramref name="code"/> into <paramref name="frame"/> (<paramref name="width"/> pixels a row).</summary>
    public static void Compose(ReadOnlySpan<uint> texture, int width, int height, uint code, Span<uint> frame)
    {
        var tw = width + Travel;
        if (texture.Length < tw * (height + Travel) || frame.Length < width * height)
        {
            throw new ArgumentException($"a {width}x{height} frame needs a {tw}x{height + Travel} texture");
        }

        var (ox, oy) = Offset(code);
        for (var y = 0; y < height; y++)
        {
            texture.Slice(((oy + y) * tw) + ox, width).CopyTo(frame.Slice(y * width, width));
        }

        FrameMarker.Stamp(frame, width, 0, 0, code, 0);
    }
}
