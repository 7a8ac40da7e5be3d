using System.IO.Compression;

namespace Spice.Codecs.Glz;

/// <summary>
/// ZLIB_GLZ_RGB: a GLZ stream wrapped in zlib (RFC 1950), deflate level 3 as spice-server uses. The SPICE payload is
/// <c>u32 glz_data_size, u32 data_size, zlib bytes</c>; this type handles the zlib bytes.
/// </summary>
public static class ZlibGlzCodec
{
    /// <summary>zlib's compressBound.</summary>
    public static int GetMaxEncodedLength(int glzLength) => glzLength + (glzLength >> 12) + (glzLength >> 14) + (glzLength >> 25) + 13 + 16;

    public static OperationStatus Compress(ReadOnlySpan<byte> glz, Span<byte> destination, out int written, int level = 3)
    {
        written = 0;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(GetMaxEncodedLength(glz.Length) + 64);
        try
        {
            int n;
            using (var ms = new MemoryStream(buffer, 0, buffer.Length, writable: true))
            {
                using (var z = new ZLibStream(ms, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
                {
                    z.Write(glz);
                }

                n = (int)ms.Position;
            }

            if (n > destination.Length)
            {
                return OperationStatus.DestinationTooSmall;
            }

            buffer.AsSpan(0, n).CopyTo(destination);
            written = n;
            return OperationStatus.Done;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Inflates exactly <paramref name="glzDataSize"/> bytes into <paramref name="destination"/>; anything else is InvalidData.
    /// The size is capped by <paramref name="limits"/> before inflating.
    /// </summary>
    public static OperationStatus Decompress(ReadOnlySpan<byte> zlib, int glzDataSize, Span<byte> destination, out int written, CodecLimits? limits = null)
    {
        limits ??= CodecLimits.Default;
        written = 0;
        if (glzDataSize <= 0 || glzDataSize > limits.MaxOutputBytes + GlzHeader.Size * 2)
        {
            return OperationStatus.InvalidData;
        }

        if (destination.Length < glzDataSize)
        {
            return OperationStatus.DestinationTooSmall;
        }

        byte[] input = ArrayPool<byte>.Shared.Rent(Math.Max(1, zlib.Length));
        try
        {
            zlib.CopyTo(input);
            using var ms = new MemoryStream(input, 0, zlib.Length, writable: false);
            using var z = new ZLibStream(ms, CompressionMode.Decompress);
            int total = 0;
            Span<byte> target = destination[..glzDataSize];
            while (total < glzDataSize)
            {
                int n = z.Read(target[total..]);
                if (n == 0)
                {
                    return OperationStatus.InvalidData;
                }

                total += n;
            }

            Span<byte> probe = stackalloc byte[1];
            if (z.Read(probe) != 0)
            {
                return OperationStatus.InvalidData;
            }

            written = total;
            return OperationStatus.Done;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException)
        {
            // A corrupt stream: DeflateStream throws InvalidDataException for most, and zlib's own error codes
            // (Z_DATA_ERROR past the header) surface as ZLibException, an IOException (found by fuzzing, docs/fuzzing.md).
            return OperationStatus.InvalidData;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }
}
