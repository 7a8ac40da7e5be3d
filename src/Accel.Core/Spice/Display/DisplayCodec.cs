namespace Accel.Core.Spice.Display;

/// <summary>
/// What the server edge re-encodes display images to (setting <c>Server:DisplayCodec</c>).
/// <list type="bullet">
/// <item><see cref="Off"/>: display messages pass through unchanged (the default).</item>
/// <item><see cref="Auto"/>: lossless; QUIC for photo-like images (fewer than half of the sampled horizontal neighbour
/// pairs are equal), LZ4 otherwise.</item>
/// <item><see cref="Jpeg"/>: JPEG (quality 85) for the sources of DRAW_COPY (rop PUT, no mask) and DRAW_OPAQUE without
/// CACHE_REPLACE_ME (JPEG_ALPHA for images with alpha, as spice-server does); every other image as <see cref="Auto"/>. FROM_CACHE_LOSSLESS references to
/// images this edge sent as JPEG are rewritten to FROM_CACHE.</item>
/// </list>
/// </summary>
public enum DisplayCodec
{
    Off,
    Auto,
    Quic,
    Lz,
    Glz,
    Lz4,
    Jpeg,
}

public static class DisplayCodecs
{
    /// <summary>Parses a configuration value (case-insensitive): off, auto, quic, lz, glz, lz4, jpeg.</summary>
    public static bool TryParse(string? value, out DisplayCodec codec)
    {
        codec = DisplayCodec.Off;
        if (string.IsNullOrWhiteSpace(value))
        {
            return true;
        }

        return Enum.TryParse(value.Trim(), ignoreCase: true, out codec) && Enum.IsDefined(codec) && !char.IsDigit(value.Trim()[0]);
    }
}
