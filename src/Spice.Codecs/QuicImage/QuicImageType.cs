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

/// <summary>Converts between interleaved pixels and the planar rows the QUIC model works on.</summary>
internal static class QuicPlanes
{
    /// <summary>Splits a row into r, g, b planes (and alpha into <paramref name="alpha"/> for RGBA).</summary>
    public static void Unpack(QuicImageType type, ReadOnlySpan<byte> row, int width, Span<byte> rgb, Span<byte> alpha)
    {
        switch (type)
        {
            case QuicImageType.Rgb32:
            case QuicImageType.Rgba:
                {
                    Span<byte> r = rgb[..width];
                    Span<byte> g = rgb.Slice(width, width);
                    Span<byte> b = rgb.Slice(2 * width, width);
                    ReadOnlySpan<byte> src = row[..(width * 4)];
                    for (int x = 0, s = 0; x < width; x++, s += 4)
                    {
                        b[x] = src[s];
                        g[x] = src[s + 1];
                        r[x] = src[s + 2];
                    }

                    if (type == QuicImageType.Rgba)
                    {
                        Span<byte> a = alpha[..width];
                        for (int x = 0, s = 3; x < width; x++, s += 4)
                        {
                            a[x] = src[s];
                        }
                    }

                    break;
                }

            case QuicImageType.Rgb24:
                {
                    Span<byte> r = rgb[..width];
                    Span<byte> g = rgb.Slice(width, width);
                    Span<byte> b = rgb.Slice(2 * width, width);
                    ReadOnlySpan<byte> src = row[..(width * 3)];
                    for (int x = 0, s = 0; x < width; x++, s += 3)
                    {
                        b[x] = src[s];
                        g[x] = src[s + 1];
                        r[x] = src[s + 2];
                    }

                    break;
                }

            case QuicImageType.Rgb16:
                {
                    Span<byte> r = rgb[..width];
                    Span<byte> g = rgb.Slice(width, width);
                    Span<byte> b = rgb.Slice(2 * width, width);
                    for (int x = 0; x < width; x++)
                    {
                        int p = row[2 * x] | (row[2 * x + 1] << 8);
                        r[x] = (byte)((p >> 10) & 0x1F);
                        g[x] = (byte)((p >> 5) & 0x1F);
                        b[x] = (byte)(p & 0x1F);
                    }

                    break;
                }

            default:
                row[..width].CopyTo(rgb);
                break;
        }
    }

    /// <summary>Writes a decoded planar row to <paramref name="dst"/> in the requested output layout.</summary>
    public static void Pack(QuicImageType type, bool toRgb32, ReadOnlySpan<byte> rgb, ReadOnlySpan<byte> alpha, int width, Span<byte> dst)
    {
        switch (type)
        {
            case QuicImageType.Rgb32:
            case QuicImageType.Rgb24:
            case QuicImageType.Rgba:
                {
                    ReadOnlySpan<byte> r = rgb[..width];
                    ReadOnlySpan<byte> g = rgb.Slice(width, width);
                    ReadOnlySpan<byte> b = rgb.Slice(2 * width, width);
                    if (type == QuicImageType.Rgb24 && !toRgb32)
                    {
                        Span<byte> d3 = dst[..(width * 3)];
                        for (int x = 0, s = 0; x < width; x++, s += 3)
                        {
                            d3[s] = b[x];
                            d3[s + 1] = g[x];
                            d3[s + 2] = r[x];
                        }

                        break;
                    }

                    Span<byte> d = dst[..(width * 4)];
                    if (type == QuicImageType.Rgba)
                    {
                        ReadOnlySpan<byte> a = alpha[..width];
                        for (int x = 0, s = 0; x < width; x++, s += 4)
                        {
                            d[s] = b[x];
                            d[s + 1] = g[x];
                            d[s + 2] = r[x];
                            d[s + 3] = a[x];
                        }
                    }
                    else
                    {
                        for (int x = 0, s = 0; x < width; x++, s += 4)
                        {
                            d[s] = b[x];
                            d[s + 1] = g[x];
                            d[s + 2] = r[x];
                            d[s + 3] = 0;
                        }
                    }

                    break;
                }

            case QuicImageType.Rgb16:
                {
                    ReadOnlySpan<byte> r = rgb[..width];
                    ReadOnlySpan<byte> g = rgb.Slice(width, width);
                    ReadOnlySpan<byte> b = rgb.Slice(2 * width, width);
                    if (toRgb32)
                    {
                        Span<byte> d = dst[..(width * 4)];
                        for (int x = 0, s = 0; x < width; x++, s += 4)
                        {
                            d[s] = (byte)((b[x] << 3) | (b[x] >> 2));
                            d[s + 1] = (byte)((g[x] << 3) | (g[x] >> 2));
                            d[s + 2] = (byte)((r[x] << 3) | (r[x] >> 2));
                            d[s + 3] = 0;
                        }
                    }
                    else
                    {
                        for (int x = 0; x < width; x++)
                        {
                            int p = (r[x] << 10) | (g[x] << 5) | b[x];
                            dst[2 * x] = (byte)p;
                            dst[2 * x + 1] = (byte)(p >> 8);
                        }
                    }

                    break;
                }

            default:
                rgb[..width].CopyTo(dst);
                break;
        }
    }
}
