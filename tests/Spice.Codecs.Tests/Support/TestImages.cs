using System.Buffers.Binary;

namespace Spice.Codecs.Tests.Support;

/// <summary>Deterministic test corpora: text-like desktops, gradients, plasma fractals and noise, in every pixel format.</summary>
public static class TestImages
{
    public enum Kind
    {
        Text,
        Gradient,
        Plasma,
        Noise,
    }

    /// <summary>A top-down, tightly packed BGRX image.</summary>
    public static byte[] Rgb32(Kind kind, int width, int height, int seed = 1) => kind switch
    {
        Kind.Text => Text(width, height, seed),
        Kind.Gradient => Gradient(width, height),
        Kind.Plasma => Plasma(width, height, seed),
        _ => Noise(width * height * 4, seed),
    };

    /// <summary>Converts a BGRX image to another bitmap format (tight stride unless <paramref name="stride"/> is given).</summary>
    public static byte[] Convert(byte[] rgb32, int width, int height, SpiceBitmapFormat format, out int stride, int? forcedStride = null)
    {
        stride = forcedStride ?? (int)SpiceBitmapFormats.MinStride(format, width);
        var dst = new byte[stride * height];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int s = (y * width + x) * 4;
                byte b = rgb32[s], g = rgb32[s + 1], r = rgb32[s + 2];
                int d = y * stride;
                int luma = (r * 77 + g * 150 + b * 29) >> 8;
                switch (format)
                {
                    case SpiceBitmapFormat.ThirtyTwoBit:
                        dst[d + x * 4] = b;
                        dst[d + x * 4 + 1] = g;
                        dst[d + x * 4 + 2] = r;
                        dst[d + x * 4 + 3] = rgb32[s + 3];
                        break;
                    case SpiceBitmapFormat.Rgba:
                        dst[d + x * 4] = b;
                        dst[d + x * 4 + 1] = g;
                        dst[d + x * 4 + 2] = r;
                        dst[d + x * 4 + 3] = (byte)(((x * 7) ^ (y * 3)) < 200 ? 255 : (x * 255 / Math.Max(1, width - 1)));
                        break;
                    case SpiceBitmapFormat.TwentyFourBit:
                        dst[d + x * 3] = b;
                        dst[d + x * 3 + 1] = g;
                        dst[d + x * 3 + 2] = r;
                        break;
                    case SpiceBitmapFormat.SixteenBit:
                        BinaryPrimitives.WriteUInt16LittleEndian(dst.AsSpan(d + x * 2), (ushort)(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)));
                        break;
                    case SpiceBitmapFormat.EightBit:
                    case SpiceBitmapFormat.EightBitAlpha:
                        dst[d + x] = (byte)luma;
                        break;
                    case SpiceBitmapFormat.FourBitLE:
                    case SpiceBitmapFormat.FourBitBE:
                        {
                            int v = luma >> 4;
                            bool high = ((x & 1) == 0) == (format == SpiceBitmapFormat.FourBitBE);
                            dst[d + (x >> 1)] |= (byte)(high ? v << 4 : v);
                            break;
                        }

                    case SpiceBitmapFormat.OneBitLE:
                    case SpiceBitmapFormat.OneBitBE:
                        if (luma >= 128)
                        {
                            int bit = format == SpiceBitmapFormat.OneBitBE ? 7 - (x & 7) : x & 7;
                            dst[d + (x >> 3)] |= (byte)(1 << bit);
                        }

                        break;
                }
            }
        }

        return dst;
    }

    public static byte[] Noise(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static byte[] Gradient(int width, int height)
    {
        var p = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int o = (y * width + x) * 4;
                p[o] = (byte)(x * 255 / Math.Max(1, width - 1));
                p[o + 1] = (byte)(y * 255 / Math.Max(1, height - 1));
                p[o + 2] = (byte)((x + y) * 2);
                p[o + 3] = 0;
            }
        }

        return p;
    }

    /// <summary>Diamond-square plasma: smooth, photo-like.</summary>
    public static byte[] Plasma(int width, int height, int seed)
    {
        int size = 1;
        while (size < Math.Max(width, height))
        {
            size <<= 1;
        }

        int n = size + 1;
        var h = new double[n * n];
        var rnd = new Random(seed);
        h[0] = rnd.NextDouble();
        h[size] = rnd.NextDouble();
        h[size * n] = rnd.NextDouble();
        h[size * n + size] = rnd.NextDouble();
        double amp = 0.5;
        for (int step = size; step > 1; step /= 2, amp *= 0.55)
        {
            int half = step / 2;
            for (int y = half; y < n; y += step)
            {
                for (int x = half; x < n; x += step)
                {
                    double avg = (h[(y - half) * n + x - half] + h[(y - half) * n + x + half] + h[(y + half) * n + x - half] + h[(y + half) * n + x + half]) / 4;
                    h[y * n + x] = avg + (rnd.NextDouble() - 0.5) * amp;
                }
            }

            for (int y = 0; y < n; y += half)
            {
                for (int x = (y / half % 2 == 0) ? half : 0; x < n; x += step)
                {
                    double sum = 0;
                    int cnt = 0;
                    if (y >= half) { sum += h[(y - half) * n + x]; cnt++; }
                    if (y + half < n) { sum += h[(y + half) * n + x]; cnt++; }
                    if (x >= half) { sum += h[y * n + x - half]; cnt++; }
                    if (x + half < n) { sum += h[y * n + x + half]; cnt++; }
                    h[y * n + x] = sum / cnt + (rnd.NextDouble() - 0.5) * amp;
                }
            }
        }

        var p = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                double v = h[y * n + x];
                int o = (y * width + x) * 4;
                p[o] = (byte)Math.Clamp((int)(128 + 127 * Math.Sin(v * 6.0)), 0, 255);
                p[o + 1] = (byte)Math.Clamp((int)(128 + 127 * Math.Sin(v * 9.0 + 1)), 0, 255);
                p[o + 2] = (byte)Math.Clamp((int)(128 + 127 * Math.Sin(v * 4.0 + 2)), 0, 255);
            }
        }

        return p;
    }

    /// <summary>A desktop-like picture: flat background, title bars, windows with lines of glyph-like blocks.</summary>
    public static byte[] Text(int width, int height, int seed)
    {
        var p = new byte[width * height * 4];
        var rnd = new Random(seed);
        void Fill(int x0, int y0, int w, int h, uint color)
        {
            for (int y = Math.Max(0, y0); y < Math.Min(height, y0 + h); y++)
            {
                for (int x = Math.Max(0, x0); x < Math.Min(width, x0 + w); x++)
                {
                    BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan((y * width + x) * 4), color);
                }
            }
        }

        Fill(0, 0, width, height, 0x003A6EA5);
        int windows = 1 + width * height / 60000;
        for (int wi = 0; wi < windows; wi++)
        {
            int wx = rnd.Next(-20, Math.Max(1, width - 40));
            int wy = rnd.Next(-10, Math.Max(1, height - 30));
            int ww = rnd.Next(40, Math.Max(41, width));
            int wh = rnd.Next(30, Math.Max(31, height));
            Fill(wx, wy, ww, wh, 0x00FFFFFF);
            Fill(wx, wy, ww, 18, 0x00203040);
            for (int line = wy + 24; line + 10 < wy + wh; line += 14)
            {
                int x = wx + 6;
                while (x < wx + ww - 10)
                {
                    int word = rnd.Next(2, 9);
                    for (int c = 0; c < word && x < wx + ww - 10; c++, x += 7)
                    {
                        int glyph = rnd.Next(16);
                        for (int gy = 0; gy < 9; gy++)
                        {
                            for (int gx = 0; gx < 5; gx++)
                            {
                                if (((glyph * 2654435761u) >> ((gy * 5 + gx) % 29) & 1) != 0)
                                {
                                    Fill(x + gx, line + gy, 1, 1, 0x00101010);
                                }
                            }
                        }
                    }

                    x += 7;
                }
            }
        }

        return p;
    }
}
