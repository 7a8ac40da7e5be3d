using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.QuicImage;

/// <summary>Options for the QUIC image decoder.</summary>
public sealed class QuicDecoderOptions
{
    public static QuicDecoderOptions Default { get; } = new();

    public CodecLimits Limits { get; init; } = CodecLimits.Default;

    /// <summary>
    /// True (default): RGB24/RGB32/RGB16 decode to BGRX (pad byte 0, RGB16 expanded as (v &lt;&lt; 3) | (v &gt;&gt; 2)) and RGBA to BGRA.
    /// False: RGB24 to 3-byte pixels and RGB16 to x555 words. GRAY always decodes to one byte per pixel.
    /// </summary>
    public bool ToRgb32 { get; init; } = true;
}

/// <summary>SPICE QUIC image decoder (spice-common quic.c semantics). Output rows are top-down.</summary>
public static class QuicImageDecoder
{
    /// <summary>Parses the header; checks size limits before anything is allocated.</summary>
    public static OperationStatus TryReadHeader(ReadOnlySpan<byte> source, out QuicHeader header, CodecLimits? limits = null)
    {
        header = default;
        if (source.Length < QuicHeader.Size)
        {
            return OperationStatus.NeedMoreData;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(source) != QuicHeader.Magic || BinaryPrimitives.ReadUInt32LittleEndian(source[4..]) != QuicHeader.Version)
        {
            return OperationStatus.InvalidData;
        }

        uint type = BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        uint width = BinaryPrimitives.ReadUInt32LittleEndian(source[12..]);
        uint height = BinaryPrimitives.ReadUInt32LittleEndian(source[16..]);
        limits ??= CodecLimits.Default;
        if (type is 0 or > (uint)QuicImageType.Rgba || !limits.Allows(width, height, 4) || (long)width * height > QuicImageEncoder.MaxPixels)
        {
            return OperationStatus.InvalidData;
        }

        header = new QuicHeader((QuicImageType)type, (int)width, (int)height);
        return OperationStatus.Done;
    }

    /// <summary>Bytes per output row for <paramref name="header"/>.</summary>
    public static int OutputRowBytes(in QuicHeader header, bool toRgb32) => header.Type switch
    {
        QuicImageType.Gray => header.Width,
        QuicImageType.Rgb24 when !toRgb32 => header.Width * 3,
        QuicImageType.Rgb16 when !toRgb32 => header.Width * 2,
        _ => header.Width * 4,
    };

    public static OperationStatus Decode(ReadOnlySpan<byte> source, Span<byte> destination, int destinationStride, out QuicHeader header, QuicDecoderOptions? options = null)
    {
        options ??= QuicDecoderOptions.Default;
        OperationStatus status = TryReadHeader(source, out header, options.Limits);
        if (status != OperationStatus.Done)
        {
            return OperationStatus.InvalidData;
        }

        int rowBytes = OutputRowBytes(header, options.ToRgb32);
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, rowBytes);
        if (destination.Length < (long)destinationStride * (header.Height - 1) + rowBytes)
        {
            return OperationStatus.DestinationTooSmall;
        }

        // Pixels 0..2 of every row are always coded (runs start at x > 2), one bit per channel sample at least:
        // a stream this short cannot describe the image, so bombs are rejected before the planes are allocated.
        long minBits = (long)header.Height * Math.Min(header.Width, 3);
        if ((long)(source.Length - QuicHeader.Size) * 8 < minBits)
        {
            return OperationStatus.InvalidData;
        }

        byte[] bytes = ArrayPool<byte>.Shared.Rent(QuicCoreLayout.ByteScratch(header.Width));
        uint[] counters = ArrayPool<uint>.Shared.Rent(QuicCoreLayout.CounterScratch);
        try
        {
            return DecodeCore(source, destination, destinationStride, header, options.ToRgb32, bytes, counters);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<uint>.Shared.Return(counters);
        }
    }

    private static OperationStatus DecodeCore(ReadOnlySpan<byte> source, Span<byte> destination, int destinationStride, in QuicHeader header,
        bool toRgb32, byte[] bytes, uint[] counters)
    {
        QuicImageType type = header.Type;
        int width = header.Width;
        var layout = new QuicCoreLayout(bytes, counters, width);
        QuicFamily family = type == QuicImageType.Rgb16 ? QuicFamily.Bpc5 : QuicFamily.Bpc8;
        int channels = type == QuicImageType.Gray ? 1 : 3;
        var main = new QuicModel(family, channels, width, layout.Tables(0, channels), layout.Counters(0, channels), layout.Best(0, channels));
        var alpha = new QuicModel(family, 1, width, layout.Tables(3, 1), layout.Counters(3, 1), layout.Best(3, 1));

        var r = new QuicBitReader(source);
        for (int i = 0; i < 5; i++)
        {
            r.Eat(16);
            r.Eat(16);
        }

        ref byte image = ref MemoryMarshal.GetReference(destination);
        for (int y = 0; y < header.Height; y++)
        {
            ref byte cur = ref Unsafe.Add(ref image, (nint)y * destinationStride);
            ref byte prev = ref y == 0 ? ref cur : ref Unsafe.Subtract(ref cur, destinationStride);
            bool ok = type switch
            {
                QuicImageType.Rgb32 => Row<QuicBgrx>(ref main, ref r, ref prev, ref cur, y == 0),
                QuicImageType.Rgba => Row<QuicBgrx>(ref main, ref r, ref prev, ref cur, y == 0) && Row<QuicAlpha>(ref alpha, ref r, ref prev, ref cur, y == 0),
                QuicImageType.Rgb24 when toRgb32 => Row<QuicBgrx>(ref main, ref r, ref prev, ref cur, y == 0),
                QuicImageType.Rgb24 => Row<QuicBgr>(ref main, ref r, ref prev, ref cur, y == 0),
                QuicImageType.Rgb16 when toRgb32 => Row<QuicX555ToBgrx>(ref main, ref r, ref prev, ref cur, y == 0),
                QuicImageType.Rgb16 => Row<QuicX555>(ref main, ref r, ref prev, ref cur, y == 0),
                _ => Row<QuicGray>(ref main, ref r, ref prev, ref cur, y == 0),
            };
            if (!ok)
            {
                return OperationStatus.InvalidData;
            }
        }

        return OperationStatus.Done;
    }

    private static bool Row<TPx>(ref QuicModel m, ref QuicBitReader r, ref byte prev, ref byte cur, bool first)
        where TPx : struct, IQuicPixel
    {
        m.BeginRow(first);
        return first
            ? QuicRowDecoder.DecodeRow<TPx, QuicFirstRow>(ref m, ref r, ref prev, ref cur)
            : QuicRowDecoder.DecodeRow<TPx, QuicLaterRow>(ref m, ref r, ref prev, ref cur);
    }
}
