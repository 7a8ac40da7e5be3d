namespace Spice.Codecs.QuicImage;

/// <summary>QuicImageType (u32 in the QUIC header).</summary>
public enum QuicImageType
{
    Invalid = 0,
    Gray = 1,
    /// <summary>x1r5g5b5, 5 bits per channel.</summary>
    Rgb16 = 2,
    Rgb24 = 3,
    Rgb32 = 4,
    Rgba = 5,
}

/// <summary>A parsed QUIC header (five little-endian words: magic, version, type, width, height).</summary>
public readonly record struct QuicHeader(QuicImageType Type, int Width, int Height)
{
    public const uint Magic = 0x43495551;
    public const uint Version = 0;
    public const int Size = 20;

    internal int Channels => Type switch
    {
        QuicImageType.Gray => 1,
        QuicImageType.Rgba => 4,
        _ => 3,
    };
}
