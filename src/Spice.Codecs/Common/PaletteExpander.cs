using System.Runtime.InteropServices;
using Spice.Codecs.Lz;

namespace Spice.Codecs;

/// <summary>Expands 1/4/8-bit palette rows to BGRX.</summary>
internal static class PaletteExpander
{
    public static SpiceBitmapFormat FromLz(LzImageType type) => type switch
    {
        LzImageType.Plt1LE => SpiceBitmapFormat.OneBitLE,
        LzImageType.Plt1BE => SpiceBitmapFormat.OneBitBE,
        LzImageType.Plt4LE => SpiceBitmapFormat.FourBitLE,
        LzImageType.Plt4BE => SpiceBitmapFormat.FourBitBE,
        _ => SpiceBitmapFormat.EightBit,
    };

    /// <summary>
    /// Writes <paramref name="width"/> BGRX pixels. 4-bit indexes wrap modulo the palette size and 1-bit images use
    /// entries 0 and 1 (as spice-common); 8-bit indexes beyond the palette give black.
    /// </summary>
    public static void ExpandRow(ReadOnlySpan<byte> src, Span<byte> dst, int width, SpiceBitmapFormat format, SpicePalette palette)
    {
        Span<uint> outRow = MemoryMarshal.Cast<byte, uint>(dst[..(width * 4)]);
        ReadOnlySpan<uint> ents = palette.Entries;
        switch (format)
        {
            case SpiceBitmapFormat.EightBit:
                for (int x = 0; x < width; x++)
                {
                    outRow[x] = palette.Get(src[x]) & 0x00FFFFFF;
                }

                break;
            case SpiceBitmapFormat.FourBitLE:
            case SpiceBitmapFormat.FourBitBE:
                for (int x = 0; x < width; x++)
                {
                    int b = src[x >> 1];
                    bool high = ((x & 1) == 0) == (format == SpiceBitmapFormat.FourBitBE);
                    int idx = high ? b >> 4 : b & 0x0F;
                    outRow[x] = ents[idx % ents.Length] & 0x00FFFFFF;
                }

                break;
            default:
                uint back = palette.Get(0) & 0x00FFFFFF;
                uint fore = palette.Get(1) & 0x00FFFFFF;
                for (int x = 0; x < width; x++)
                {
                    int b = src[x >> 3];
                    int bit = format == SpiceBitmapFormat.OneBitBE ? 7 - (x & 7) : x & 7;
                    outRow[x] = ((b >> bit) & 1) != 0 ? fore : back;
                }

                break;
        }
    }
}
