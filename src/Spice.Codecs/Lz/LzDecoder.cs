using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Spice.Codecs.Lz;

/// <summary>Options for the LZ decoder.</summary>
public sealed class LzDecoderOptions
{
    public static LzDecoderOptions Default { get; } = new();

    public CodecLimits Limits { get; init; } = CodecLimits.Default;

    /// <summary>
    /// True (default): output BGRX 32-bit pixels for every type (palette types through the palette, RGB16 expanded like
    /// spice-common, A8 and alpha into byte 3). False: output the stream's own format (PLT bytes at the header's stride,
    /// RGB16 as 16-bit words, RGB24 as 3 bytes, A8 as bytes).
    /// </summary>
    public bool ToRgb32 { get; init; } = true;

    /// <summary>True (default): write rows top-down even when the stream's rows are bottom-up.</summary>
    public bool FlipToTopDown { get; init; } = true;
}

/// <summary>SPICE LZ decoder (spice-common lz.c), for every LZ image type.</summary>
public static class LzDecoder
{
    /// <summary>Parses and validates the 28-byte header against <paramref name="limits"/>.</summary>
    public static OperationStatus TryReadHeader(ReadOnlySpan<byte> source, out LzHeader header, CodecLimits? limits = null)
    {
        header = default;
        if (source.Length < LzHeader.Size)
        {
            return OperationStatus.NeedMoreData;
        }

        if (BinaryPrimitives.ReadUInt32BigEndian(source) != LzHeader.Magic
            || BinaryPrimitives.ReadUInt32BigEndian(source[4..]) != LzHeader.Version)
        {
            return OperationStatus.InvalidData;
        }

        uint type = BinaryPrimitives.ReadUInt32BigEndian(source[8..]);
        uint width = BinaryPrimitives.ReadUInt32BigEndian(source[12..]);
        uint height = BinaryPrimitives.ReadUInt32BigEndian(source[16..]);
        uint stride = BinaryPrimitives.ReadUInt32BigEndian(source[20..]);
        uint topDown = BinaryPrimitives.ReadUInt32BigEndian(source[24..]);
        return TryMakeHeader(type, width, height, stride, topDown != 0, limits ?? CodecLimits.Default, out header);
    }

    internal static OperationStatus TryMakeHeader(uint type, uint width, uint height, uint stride, bool topDown, CodecLimits limits, out LzHeader header)
    {
        header = default;
        if (type is 0 or > (uint)LzImageType.A8 || !limits.Allows(width, height, 4))
        {
            return OperationStatus.InvalidData;
        }

        var t = (LzImageType)type;
        if (!LzFormat.IsValidStride(t, width, stride) || (long)stride * height > limits.MaxOutputBytes)
        {
            return OperationStatus.InvalidData;
        }

        header = new LzHeader(t, (int)width, (int)height, (int)stride, topDown);
        return OperationStatus.Done;
    }

    /// <summary>Bytes per output pixel (or per row unit for native PLT) for a decode with these options.</summary>
    public static int OutputRowBytes(in LzHeader header, bool toRgb32) => toRgb32 || header.Type is LzImageType.Rgba or LzImageType.Xxxa or LzImageType.Rgb32
        ? header.Width * 4
        : header.Type switch
        {
            LzImageType.Rgb16 => header.Width * 2,
            LzImageType.Rgb24 => header.Width * 3,
            LzImageType.A8 => header.Width,
            _ => header.Stride,
        };

    /// <summary>
    /// Decodes an LZ stream into <paramref name="destination"/> (rows <paramref name="destinationStride"/> bytes apart).
    /// XXXA streams write only byte 3 of the destination's 32-bit pixels. Palette types need <paramref name="palette"/>
    /// when converting to RGB32.
    /// </summary>
    public static OperationStatus Decode(ReadOnlySpan<byte> source, Span<byte> destination, int destinationStride, out LzHeader header,
        SpicePalette? palette = null, LzDecoderOptions? options = null)
    {
        options ??= LzDecoderOptions.Default;
        OperationStatus status = TryReadHeader(source, out header, options.Limits);
        if (status != OperationStatus.Done)
        {
            return status == OperationStatus.NeedMoreData ? OperationStatus.InvalidData : status;
        }

        int pos = LzHeader.Size;
        return DecodeBody(source, ref pos, header, destination, destinationStride, palette, options);
    }

    internal static OperationStatus DecodeBody(ReadOnlySpan<byte> source, ref int pos, in LzHeader header, Span<byte> destination, int destinationStride,
        SpicePalette? palette, LzDecoderOptions options)
    {
        int rowBytes = OutputRowBytes(header, options.ToRgb32);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, rowBytes);
        if (destination.Length < (long)destinationStride * (header.Height - 1) + rowBytes)
        {
            return OperationStatus.DestinationTooSmall;
        }

        bool flip = options.FlipToTopDown && !header.TopDown;
        int w = header.Width;
        int h = header.Height;
        switch (header.Type)
        {
            case LzImageType.Rgb24:
            case LzImageType.Rgb32:
            case LzImageType.Rgba:
                if (!options.ToRgb32 && header.Type == LzImageType.Rgb24)
                {
                    return DecodeViaScratch<uint, LzRgbUnit>(source, ref pos, header, destination, destinationStride, flip, (int)header.PixelCount, ConvertRgb24);
                }

                if (!flip && destinationStride == w * 4)
                {
                    Span<uint> direct = MemoryMarshal.Cast<byte, uint>(destination[..(w * h * 4)]);
                    if (!LzTokenDecoder.Decode<uint, LzRgbUnit>(source, ref pos, direct))
                    {
                        return OperationStatus.InvalidData;
                    }

                    return header.Type != LzImageType.Rgba || LzTokenDecoder.Decode<uint, LzAlphaUnit>(source, ref pos, direct)
                        ? OperationStatus.Done
                        : OperationStatus.InvalidData;
                }

                return DecodeViaScratch<uint, LzRgbUnit>(source, ref pos, header, destination, destinationStride, flip, (int)header.PixelCount, CopyRgb32);

            case LzImageType.Rgb16:
                return DecodeViaScratch<ushort, LzRgb16Unit>(source, ref pos, header, destination, destinationStride, flip, (int)header.PixelCount,
                    options.ToRgb32 ? ConvertRgb16ToRgb32 : CopyRgb16);

            case LzImageType.Xxxa:
                return DecodeViaScratch<byte, LzByteUnit>(source, ref pos, header, destination, destinationStride, flip, (int)header.PixelCount, MergeAlpha);

            case LzImageType.A8:
                return DecodeViaScratch<byte, LzByteUnit>(source, ref pos, header, destination, destinationStride, flip, (int)header.PixelCount,
                    options.ToRgb32 ? ConvertA8ToRgb32 : CopyA8);

            default:
                if (options.ToRgb32 && palette == null)
                {
                    throw new ArgumentNullException(nameof(palette), "A palette is required to convert a PLT image to RGB32.");
                }

                return DecodePalette(source, ref pos, header, destination, destinationStride, flip, palette);
        }
    }

    /// <summary>PLT types: bytes at the header's stride, optionally expanded through the palette (kept apart so the
    /// closure over the palette is only allocated on this path).</summary>
    private static OperationStatus DecodePalette(ReadOnlySpan<byte> source, ref int pos, in LzHeader header, Span<byte> destination,
        int destinationStride, bool flip, SpicePalette? palette)
    {
        return DecodeViaScratch<byte, LzByteUnit>(source, ref pos, header, destination, destinationStride, flip, header.Stride * header.Height,
            (in LzHeader hd, ReadOnlySpan<byte> units, int y, Span<byte> row) =>
            {
                ReadOnlySpan<byte> line = units.Slice(y * hd.Stride, hd.Stride);
                if (palette == null)
                {
                    line.CopyTo(row);
                }
                else
                {
                    PaletteExpander.ExpandRow(line, row, hd.Width, PaletteExpander.FromLz(hd.Type), palette);
                }
            });
    }

    private delegate void RowWriter<T>(in LzHeader header, ReadOnlySpan<T> units, int dataRow, Span<byte> row);

    private static OperationStatus DecodeViaScratch<T, TUnit>(ReadOnlySpan<byte> source, ref int pos, in LzHeader header, Span<byte> destination,
        int destinationStride, bool flip, int units, RowWriter<T> writeRow)
        where T : unmanaged
        where TUnit : struct, ILzUnit<T>
    {
        T[] scratch = ArrayPool<T>.Shared.Rent(units);
        try
        {
            Span<T> buffer = scratch.AsSpan(0, units);
            if (!LzTokenDecoder.Decode<T, TUnit>(source, ref pos, buffer))
            {
                return OperationStatus.InvalidData;
            }

            if (header.Type == LzImageType.Rgba && typeof(T) == typeof(uint)
                && !LzTokenDecoder.Decode<uint, LzAlphaUnit>(source, ref pos, MemoryMarshal.Cast<T, uint>(buffer)))
            {
                return OperationStatus.InvalidData;
            }

            int h = header.Height;
            for (int y = 0; y < h; y++)
            {
                int dataRow = flip ? h - 1 - y : y;
                writeRow(header, buffer, dataRow, destination.Slice(y * destinationStride));
            }

            return OperationStatus.Done;
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch);
        }
    }

    private static void CopyRgb32(in LzHeader h, ReadOnlySpan<uint> units, int y, Span<byte> row) =>
        MemoryMarshal.AsBytes(units.Slice(y * h.Width, h.Width)).CopyTo(row);

    private static void ConvertRgb24(in LzHeader h, ReadOnlySpan<uint> units, int y, Span<byte> row)
    {
        ReadOnlySpan<uint> line = units.Slice(y * h.Width, h.Width);
        for (int x = 0; x < line.Length; x++)
        {
            uint p = line[x];
            row[x * 3] = (byte)p;
            row[x * 3 + 1] = (byte)(p >> 8);
            row[x * 3 + 2] = (byte)(p >> 16);
        }
    }

    private static void CopyRgb16(in LzHeader h, ReadOnlySpan<ushort> units, int y, Span<byte> row) =>
        MemoryMarshal.AsBytes(units.Slice(y * h.Width, h.Width)).CopyTo(row);

    /// <summary>spice-common's lz RGB16 → RGB32 expansion (byte arithmetic as in lz_decompress_tmpl.c).</summary>
    private static void ConvertRgb16ToRgb32(in LzHeader h, ReadOnlySpan<ushort> units, int y, Span<byte> row)
    {
        ReadOnlySpan<ushort> line = units.Slice(y * h.Width, h.Width);
        Span<uint> outRow = MemoryMarshal.Cast<byte, uint>(row[..(line.Length * 4)]);
        for (int x = 0; x < line.Length; x++)
        {
            int hi = line[x] >> 8;
            int lo = line[x] & 0xFF;
            int g = ((hi << 6) | (lo >> 2)) & ~0x07 & 0xFF;
            g |= g >> 5;
            int r = ((hi << 1) & ~0x07 & 0xFF) | ((hi >> 4) & 0x07);
            int b = ((lo << 3) | ((lo >> 2) & 0x07)) & 0xFF;
            outRow[x] = (uint)(b | (g << 8) | (r << 16));
        }
    }

    private static void MergeAlpha(in LzHeader h, ReadOnlySpan<byte> units, int y, Span<byte> row)
    {
        ReadOnlySpan<byte> line = units.Slice(y * h.Width, h.Width);
        for (int x = 0; x < line.Length; x++)
        {
            row[x * 4 + 3] = line[x];
        }
    }

    private static void CopyA8(in LzHeader h, ReadOnlySpan<byte> units, int y, Span<byte> row) =>
        units.Slice(y * h.Width, h.Width).CopyTo(row);

    private static void ConvertA8ToRgb32(in LzHeader h, ReadOnlySpan<byte> units, int y, Span<byte> row)
    {
        ReadOnlySpan<byte> line = units.Slice(y * h.Width, h.Width);
        Span<uint> outRow = MemoryMarshal.Cast<byte, uint>(row[..(line.Length * 4)]);
        for (int x = 0; x < line.Length; x++)
        {
            outRow[x] = (uint)line[x] << 24;
        }
    }
}
