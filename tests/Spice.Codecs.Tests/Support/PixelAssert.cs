using System.Security.Cryptography;

namespace Spice.Codecs.Tests.Support;

public static class PixelAssert
{
    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>Visual row <paramref name="y"/> of a bitmap, trimmed to its pixel bytes.</summary>
    public static ReadOnlySpan<byte> Row(byte[] pixels, in BitmapDescriptor d, int y) =>
        pixels.AsSpan(d.RowOffset(y), (int)SpiceBitmapFormats.MinStride(d.Format, d.Width));

    /// <summary>Compares decoded 32-bit output to the source, byte by byte, with a mask on each 4-byte pixel.</summary>
    public static void Rgb32Equal(byte[] expected, in BitmapDescriptor d, ReadOnlySpan<byte> actual, int actualStride, uint mask)
    {
        for (int y = 0; y < d.Height; y++)
        {
            ReadOnlySpan<byte> e = Row(expected, d, y);
            ReadOnlySpan<byte> a = actual.Slice(y * actualStride, d.Width * 4);
            for (int x = 0; x < d.Width; x++)
            {
                uint ev = BitConverter.ToUInt32(e.Slice(x * 4, 4)) & mask;
                uint av = BitConverter.ToUInt32(a.Slice(x * 4, 4)) & mask;
                if (ev != av)
                {
                    Assert.Fail($"pixel ({x},{y}): expected {ev:X8}, got {av:X8}");
                }
            }
        }
    }

    /// <summary>Compares the first <paramref name="rowBytes"/> of every visual row.</summary>
    public static void RowsEqual(byte[] expected, in BitmapDescriptor d, ReadOnlySpan<byte> actual, int actualStride, int rowBytes)
    {
        for (int y = 0; y < d.Height; y++)
        {
            ReadOnlySpan<byte> e = pixelsRow(expected, d, y, rowBytes);
            ReadOnlySpan<byte> a = actual.Slice(y * actualStride, rowBytes);
            if (!e.SequenceEqual(a))
            {
                Assert.Fail($"row {y} differs");
            }
        }

        static ReadOnlySpan<byte> pixelsRow(byte[] p, in BitmapDescriptor d, int y, int n) => p.AsSpan(d.RowOffset(y), n);
    }
}
