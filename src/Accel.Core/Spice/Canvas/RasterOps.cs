using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Accel.Core.Spice.Canvas;

/// <summary>SpiceROP: the 16 X11 raster operations (GXclear … GXset), as spice-common numbers them.</summary>
internal enum SpiceRop
{
    Clear = 0,
    And = 1,
    AndReverse = 2,
    Copy = 3,
    AndInverted = 4,
    Noop = 5,
    Xor = 6,
    Or = 7,
    Nor = 8,
    Equiv = 9,
    Invert = 10,
    OrReverse = 11,
    CopyInverted = 12,
    OrInverted = 13,
    Nand = 14,
    Set = 15,
}

/// <summary>
/// The pixel loops pixman has no operation for: the 16 binary raster operations and the 256 ternary ones (they are
/// bitwise, so they run on bytes whatever the depth), colour-keyed copies, raw copies and tiling. Sizes are clipped by
/// the caller to both images.
/// </summary>
internal static unsafe class RasterOps
{
    // rop_descriptor bits.
    public const int InversSrc = 1 << 0;
    public const int InversBrush = 1 << 1;
    public const int InversDest = 1 << 2;
    public const int OpPut = 1 << 3;
    public const int OpOr = 1 << 4;
    public const int OpAnd = 1 << 5;
    public const int OpXor = 1 << 6;
    public const int OpBlackness = 1 << 7;
    public const int OpWhiteness = 1 << 8;
    public const int OpInvers = 1 << 9;
    public const int InversRes = 1 << 10;

    /// <summary>
    /// A rop descriptor as one binary ROP of (input, dest). <paramref name="inputInvert"/> is the descriptor bit that
    /// inverts the input (INVERS_SRC or INVERS_BRUSH), <paramref name="destInvert"/> the one that inverts the other
    /// operand (INVERS_DEST, or INVERS_SRC for DRAW_OPAQUE's brush over its source).
    /// </summary>
    public static SpiceRop FromDescriptor(int descriptor, int inputInvert, int destInvert)
    {
        bool s = (descriptor & inputInvert) != 0;
        bool d = (descriptor & destInvert) != 0;
        bool res = (descriptor & InversRes) != 0;
        int op;
        if ((descriptor & OpPut) != 0)
        {
            return s ^ res ? SpiceRop.CopyInverted : SpiceRop.Copy;
        }
        else if ((descriptor & OpOr) != 0)
        {
            op = 0b1110; // s | d as a truth table (bit i: s = i>>1, d = i&1)
        }
        else if ((descriptor & OpAnd) != 0)
        {
            op = 0b1000;
        }
        else if ((descriptor & OpXor) != 0)
        {
            op = 0b0110;
        }
        else if ((descriptor & OpBlackness) != 0)
        {
            return SpiceRop.Clear;
        }
        else if ((descriptor & OpWhiteness) != 0)
        {
            return SpiceRop.Set;
        }
        else if ((descriptor & OpInvers) != 0)
        {
            return SpiceRop.Invert;
        }
        else
        {
            return SpiceRop.Copy;
        }

        // Fold the input inversions and the result inversion into a truth table, then name it as a GX code.
        int table = 0;
        for (int i = 0; i < 4; i++)
        {
            int si = (i >> 1) ^ (s ? 1 : 0);
            int di = (i & 1) ^ (d ? 1 : 0);
            int bit = (op >> ((si << 1) | di)) & 1;
            table |= (bit ^ (res ? 1 : 0)) << i;
        }

        // GX code bit 0 = f(1,1), bit 1 = f(1,0), bit 2 = f(0,1), bit 3 = f(0,0).
        int gx = ((table >> 3) & 1) | (((table >> 2) & 1) << 1) | (((table >> 1) & 1) << 2) | ((table & 1) << 3);
        return (SpiceRop)gx;
    }

    public static byte Apply(SpiceRop rop, byte s, byte d)
    {
        int g = (int)rop;
        int r = ((g & 1) != 0 ? s & d : 0) | ((g & 2) != 0 ? s & ~d : 0) | ((g & 4) != 0 ? ~s & d : 0) | ((g & 8) != 0 ? ~s & ~d : 0);
        return (byte)r;
    }

    /// <summary><see cref="Apply"/> on a whole 32-bit pixel (the ROPs are bitwise).</summary>
    public static uint Apply32(SpiceRop rop, uint s, uint d)
    {
        int g = (int)rop;
        return ((g & 1) != 0 ? s & d : 0) | ((g & 2) != 0 ? s & ~d : 0) | ((g & 4) != 0 ? ~s & d : 0) | ((g & 8) != 0 ? ~s & ~d : 0);
    }

    /// <summary>Windows ternary ROP: bit ((p &lt;&lt; 2) | (s &lt;&lt; 1) | d) of <paramref name="rop3"/>.</summary>
    public static byte Apply3(byte rop3, byte p, byte s, byte d)
    {
        int r = 0;
        for (int i = 0; i < 8; i++)
        {
            if (((rop3 >> i) & 1) == 0)
            {
                continue;
            }

            int mp = (i & 4) != 0 ? p : ~p;
            int ms = (i & 2) != 0 ? s : ~s;
            int md = (i & 1) != 0 ? d : ~d;
            r |= mp & ms & md;
        }

        return (byte)r;
    }

    public static int BytesPerPixel(PixmanImage image) => Math.Max(1, image.Bpp / 8);

    /// <summary>pixman_fill, or a byte loop for depths it does not fill.</summary>
    public static void Fill(PixmanImage dest, in PixmanBox box, uint color)
    {
        if (box.Width <= 0 || box.Height <= 0)
        {
            return;
        }

        if (PixmanNative.Fill((uint*)dest.Pixels, dest.Stride / 4, dest.Bpp, box.X1, box.Y1, box.Width, box.Height, color) == 0)
        {
            FillRop(dest, box, color, SpiceRop.Copy);
        }
    }

    public static void FillRop(PixmanImage dest, in PixmanBox box, uint color, SpiceRop rop)
    {
        int bpp = BytesPerPixel(dest);
        Span<byte> c = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(c, color);
        for (int y = box.Y1; y < box.Y2; y++)
        {
            var row = dest.Row(y).Slice(box.X1 * bpp, box.Width * bpp);
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = Apply(rop, c[i % bpp], row[i]);
            }
        }
    }

    /// <summary>Raw copy of a same-depth area (rows may overlap: memmove per row).</summary>
    public static void Copy(PixmanImage dest, PixmanImage src, int srcX, int srcY, int destX, int destY, int width, int height, bool bottomUp = false)
    {
        int bpp = BytesPerPixel(dest);
        for (int i = 0; i < height; i++)
        {
            int row = bottomUp ? height - 1 - i : i;
            src.Row(srcY + row).Slice(srcX * bpp, width * bpp).CopyTo(dest.Row(destY + row).Slice(destX * bpp, width * bpp));
        }
    }

    public static void CopyRop(PixmanImage dest, PixmanImage src, int srcX, int srcY, int destX, int destY, int width, int height, SpiceRop rop)
    {
        int bpp = BytesPerPixel(dest);
        for (int y = 0; y < height; y++)
        {
            var s = src.Row(srcY + y).Slice(srcX * bpp, width * bpp);
            var d = dest.Row(destY + y).Slice(destX * bpp, width * bpp);
            for (int i = 0; i < d.Length; i++)
            {
                d[i] = Apply(rop, s[i], d[i]);
            }
        }
    }

    /// <summary>Copies pixels whose colour (low 24 bits at 32 bpp) differs from <paramref name="key"/>.</summary>
    public static void ColorKey(PixmanImage dest, PixmanImage src, int srcX, int srcY, int destX, int destY, int width, int height, uint key)
    {
        int bpp = BytesPerPixel(dest);
        uint mask = bpp switch { 4 => 0xFFFFFF, 2 => 0xFFFF, _ => 0xFF };
        key &= mask;
        for (int y = 0; y < height; y++)
        {
            var s = src.Row(srcY + y).Slice(srcX * bpp, width * bpp);
            var d = dest.Row(destY + y).Slice(destX * bpp, width * bpp);
            for (int x = 0; x < width; x++)
            {
                uint v = Read(s, x, bpp);
                if ((v & mask) != key)
                {
                    s.Slice(x * bpp, bpp).CopyTo(d.Slice(x * bpp, bpp));
                }
            }
        }
    }

    /// <summary>Tiles <paramref name="tile"/> over <paramref name="box"/>; the tile's origin is at (offsetX, offsetY).</summary>
    public static void Tile(PixmanImage dest, in PixmanBox box, PixmanImage tile, int offsetX, int offsetY, SpiceRop rop)
    {
        int bpp = BytesPerPixel(dest);
        for (int y = box.Y1; y < box.Y2; y++)
        {
            var t = tile.Row(Mod(y - offsetY, tile.Height));
            var d = dest.Row(y);
            for (int x = box.X1; x < box.X2; x++)
            {
                int tx = Mod(x - offsetX, tile.Width) * bpp;
                for (int i = 0; i < bpp; i++)
                {
                    d[x * bpp + i] = rop == SpiceRop.Copy ? t[tx + i] : Apply(rop, t[tx + i], d[x * bpp + i]);
                }
            }
        }
    }

    public static int Mod(int a, int m)
    {
        int r = a % m;
        return r < 0 ? r + m : r;
    }

    private static uint Read(ReadOnlySpan<byte> s, int x, int bpp) => bpp switch
    {
        4 => BinaryPrimitives.ReadUInt32LittleEndian(s[(x * 4)..]),
        2 => BinaryPrimitives.ReadUInt16LittleEndian(s[(x * 2)..]),
        _ => s[x],
    };

    /// <summary>spice-common's clear_dest_alpha: if the area's first pixel has alpha 0xFF, clear the alpha of the area.</summary>
    public static void ClearDestAlpha(PixmanImage dest, int x, int y, int width, int height)
    {
        int x2 = Math.Min(dest.Width, x + width), y2 = Math.Min(dest.Height, y + height);
        x = Math.Max(0, x);
        y = Math.Max(0, y);
        if (x >= x2 || y >= y2)
        {
            return;
        }

        if ((MemoryMarshal.Read<uint>(dest.Row(y)[(x * 4)..]) & 0xFF000000) == 0xFF000000)
        {
            FillRop(dest, new PixmanBox(x, y, x2, y2), 0x00FFFFFF, SpiceRop.And);
        }
    }

    internal static uint To555(uint c) => ((c >> 3) & 0x001F) | ((c >> 6) & 0x03E0) | ((c >> 9) & 0x7C00);

    internal static uint To565(uint c) => ((c >> 3) & 0x001F) | ((c >> 5) & 0x07E0) | ((c >> 8) & 0xF800);

    internal static int ReverseWithinBand(ReadOnlySpan<PixmanBox> rects, int i)
    {
        int start = i, end = i;
        while (start > 0 && rects[start - 1].Y1 == rects[i].Y1)
        {
            start--;
        }

        while (end < rects.Length - 1 && rects[end + 1].Y1 == rects[i].Y1)
        {
            end++;
        }

        return start + end - i;
    }
}
