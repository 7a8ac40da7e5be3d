using System.Buffers.Binary;
using K4os.Compression.LZ4;

namespace Spice.Codecs.Lz4;

/// <summary>A parsed LZ4 image data header (after the SPICE u32 data_size).</summary>
public readonly record struct Lz4ImageHeader(bool TopDown, SpiceBitmapFormat Format);

/// <summary>
/// SPICE LZ4 images (type 109): <c>u8 top_down, u8 format</c>, then blocks of <c>u32 big-endian length + raw LZ4 block</c>.
/// Decoded rows are width × bytes-per-pixel with no padding. Blocks may reference earlier blocks (LZ4 streaming), so
/// decoding keeps one contiguous output.
/// </summary>
public static class Lz4ImageCodec
{
    private const int HeaderSize = 2;

    /// <summary>Rows per block the encoder emits (the server emits one block per chunk of rows).</summary>
    public const int DefaultBlockBytes = 1 << 20;

    public static int BytesPerPixel(SpiceBitmapFormat format) => format switch
    {
        SpiceBitmapFormat.SixteenBit => 2,
        SpiceBitmapFormat.TwentyFourBit => 3,
        SpiceBitmapFormat.ThirtyTwoBit or SpiceBitmapFormat.Rgba => 4,
        _ => 0,
    };

    public static int GetMaxEncodedLength(int width, int height, SpiceBitmapFormat format)
    {
        long raw = (long)width * height * BytesPerPixel(format);
        long blocks = raw / DefaultBlockBytes + 1;
        long max = HeaderSize + raw + raw / 255 + blocks * (16 + 4);
        return max > Array.MaxLength ? throw new ArgumentOutOfRangeException(nameof(width)) : (int)max;
    }

    /// <summary>Encodes rows (packed, in memory order) as independent LZ4 blocks of about 1 MiB.</summary>
    public static OperationStatus Encode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written)
    {
        bitmap.Validate(pixels.Length, nameof(bitmap));
        int bpp = BytesPerPixel(bitmap.Format);
        if (bpp == 0)
        {
            throw new ArgumentException($"LZ4 images carry 16/24/32-bit or RGBA pixels, not {bitmap.Format}.", nameof(bitmap));
        }

        written = 0;
        if (destination.Length < HeaderSize)
        {
            return OperationStatus.DestinationTooSmall;
        }

        destination[0] = bitmap.TopDown ? (byte)1 : (byte)0;
        destination[1] = (byte)bitmap.Format;
        int pos = HeaderSize;
        int rowBytes = bitmap.Width * bpp;
        int rowsPerBlock = Math.Max(1, DefaultBlockBytes / rowBytes);
        byte[]? packed = null;
        try
        {
            for (int y = 0; y < bitmap.Height; y += rowsPerBlock)
            {
                int rows = Math.Min(rowsPerBlock, bitmap.Height - y);
                ReadOnlySpan<byte> block;
                if (bitmap.Stride == rowBytes)
                {
                    block = pixels.Slice(y * rowBytes, rows * rowBytes);
                }
                else
                {
                    packed ??= ArrayPool<byte>.Shared.Rent(rowsPerBlock * rowBytes);
                    for (int r = 0; r < rows; r++)
                    {
                        pixels.Slice((y + r) * bitmap.Stride, rowBytes).CopyTo(packed.AsSpan(r * rowBytes));
                    }

                    block = packed.AsSpan(0, rows * rowBytes);
                }

                if (destination.Length - pos < 4 + LZ4Codec.MaximumOutputSize(block.Length))
                {
                    return OperationStatus.DestinationTooSmall;
                }

                int n = LZ4Codec.Encode(block, destination.Slice(pos + 4), LZ4Level.L00_FAST);
                if (n <= 0)
                {
                    return OperationStatus.DestinationTooSmall;
                }

                BinaryPrimitives.WriteUInt32BigEndian(destination.Slice(pos), (uint)n);
                pos += 4 + n;
            }

            written = pos;
            return OperationStatus.Done;
        }
        finally
        {
            if (packed != null)
            {
                ArrayPool<byte>.Shared.Return(packed);
            }
        }
    }

    /// <summary>Reads the 2-byte header.</summary>
    public static OperationStatus TryReadHeader(ReadOnlySpan<byte> data, out Lz4ImageHeader header)
    {
        header = default;
        if (data.Length < HeaderSize || data[0] > 1 || BytesPerPixel((SpiceBitmapFormat)data[1]) == 0)
        {
            return OperationStatus.InvalidData;
        }

        header = new Lz4ImageHeader(data[0] == 1, (SpiceBitmapFormat)data[1]);
        return OperationStatus.Done;
    }

    /// <summary>
    /// Decodes into <paramref name="destination"/> in the stream's pixel format (width × bpp bytes per row, rows
    /// <paramref name="destinationStride"/> apart), flipping bottom-up streams to top-down when asked.
    /// The size comes from the image descriptor; it is checked against <paramref name="limits"/> first.
    /// </summary>
    public static OperationStatus Decode(ReadOnlySpan<byte> data, int width, int height, Span<byte> destination, int destinationStride,
        out Lz4ImageHeader header, bool flipToTopDown = true, CodecLimits? limits = null)
    {
        limits ??= CodecLimits.Default;
        OperationStatus status = TryReadHeader(data, out header);
        if (status != OperationStatus.Done || !limits.Allows(width, height, 4))
        {
            return OperationStatus.InvalidData;
        }

        int bpp = BytesPerPixel(header.Format);
        int rowBytes = width * bpp;
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, rowBytes);
        if (destination.Length < (long)destinationStride * (height - 1) + rowBytes)
        {
            return OperationStatus.DestinationTooSmall;
        }

        int total = rowBytes * height;
        bool direct = destinationStride == rowBytes && (header.TopDown || !flipToTopDown);
        byte[]? scratch = direct ? null : ArrayPool<byte>.Shared.Rent(total);
        try
        {
            Span<byte> output = direct ? destination[..total] : scratch.AsSpan(0, total);
            int ip = HeaderSize;
            int op = 0;
            while (op < total)
            {
                if (data.Length - ip < 4)
                {
                    return OperationStatus.InvalidData;
                }

                uint blockLength = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(ip));
                ip += 4;
                if (blockLength == 0 || blockLength > (uint)(data.Length - ip))
                {
                    return OperationStatus.InvalidData;
                }

                ReadOnlySpan<byte> dictionary = output.Slice(Math.Max(0, op - 65536), Math.Min(op, 65536));
                int n = LZ4Codec.Decode(data.Slice(ip, (int)blockLength), output.Slice(op), dictionary);
                if (n <= 0)
                {
                    return OperationStatus.InvalidData;
                }

                op += n;
                ip += (int)blockLength;
            }

            if (!direct)
            {
                bool flip = flipToTopDown && !header.TopDown;
                for (int y = 0; y < height; y++)
                {
                    int dataRow = flip ? height - 1 - y : y;
                    output.Slice(dataRow * rowBytes, rowBytes).CopyTo(destination.Slice(y * destinationStride));
                }
            }

            return OperationStatus.Done;
        }
        finally
        {
            if (scratch != null)
            {
                ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }
}
