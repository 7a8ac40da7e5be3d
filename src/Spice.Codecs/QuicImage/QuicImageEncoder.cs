using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.QuicImage;

/// <summary>Options for the QUIC image encoder.</summary>
public sealed class QuicEncoderOptions
{
    public static QuicEncoderOptions Default { get; } = new();

    /// <summary>The QUIC type to produce; <see cref="QuicImageType.Invalid"/> derives it from the bitmap format.</summary>
    public QuicImageType Type { get; init; }
}

/// <summary>
/// SPICE QUIC image encoder (spice-common quic.c): bit-exact with the C encoder. Rows are always coded top to bottom;
/// a bottom-up bitmap (<see cref="BitmapDescriptor.TopDown"/> false) is read from its last row, as the server does.
/// </summary>
public static class QuicImageEncoder
{
    /// <summary>The largest image QUIC can describe (512 Mi − 1 pixels).</summary>
    public const long MaxPixels = 512L * 1024 * 1024 - 1;

    public static QuicImageType TypeFor(SpiceBitmapFormat format) => format switch
    {
        SpiceBitmapFormat.SixteenBit => QuicImageType.Rgb16,
        SpiceBitmapFormat.TwentyFourBit => QuicImageType.Rgb24,
        SpiceBitmapFormat.ThirtyTwoBit => QuicImageType.Rgb32,
        SpiceBitmapFormat.Rgba => QuicImageType.Rgba,
        SpiceBitmapFormat.EightBitAlpha or SpiceBitmapFormat.EightBit => QuicImageType.Gray,
        _ => QuicImageType.Invalid,
    };

    /// <summary>Worst-case size: header, 26 bits per channel sample plus a run token per pixel, padding and the trailing word.</summary>
    public static int GetMaxEncodedLength(int width, int height, QuicImageType type)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        int channels = new QuicHeader(type, width, height).Channels;
        long bits = (long)width * height * (26 * channels + 17 * (channels == 4 ? 2 : 1));
        long max = QuicHeader.Size + (bits + 31) / 32 * 4 + 8;
        return max > Array.MaxLength ? throw new ArgumentOutOfRangeException(nameof(width), "Image too large.") : (int)max;
    }

    public static bool TryEncode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written, QuicEncoderOptions? options = null)
    {
        return Encode(pixels, bitmap, destination, out written, options) == OperationStatus.Done;
    }

    public static OperationStatus Encode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written, QuicEncoderOptions? options = null)
    {
        bitmap.Validate(pixels.Length, nameof(bitmap));
        options ??= QuicEncoderOptions.Default;
        QuicImageType type = options.Type != QuicImageType.Invalid ? options.Type : TypeFor(bitmap.Format);
        bool compatible = type switch
        {
            QuicImageType.Rgb32 or QuicImageType.Rgba => bitmap.Format is SpiceBitmapFormat.ThirtyTwoBit or SpiceBitmapFormat.Rgba,
            QuicImageType.Rgb24 => bitmap.Format == SpiceBitmapFormat.TwentyFourBit,
            QuicImageType.Rgb16 => bitmap.Format == SpiceBitmapFormat.SixteenBit,
            QuicImageType.Gray => bitmap.Format is SpiceBitmapFormat.EightBitAlpha or SpiceBitmapFormat.EightBit,
            _ => false,
        };
        if (!compatible)
        {
            throw new ArgumentException($"QUIC type {type} does not fit bitmap format {bitmap.Format}.", nameof(options));
        }

        if ((long)bitmap.Width * bitmap.Height > MaxPixels)
        {
            throw new ArgumentException("Image too large for QUIC.", nameof(bitmap));
        }

        var core = new QuicEncoderCore(type, bitmap.Width);
        try
        {
            return core.Encode(pixels, bitmap, destination, out written);
        }
        finally
        {
            core.Dispose();
        }
    }
}

/// <summary>One encode call: owns the pooled model scratch.</summary>
internal struct QuicEncoderCore : IDisposable
{
    private readonly QuicImageType _type;
    private readonly int _width;
    private byte[]? _bytes;
    private uint[]? _counters;

    public QuicEncoderCore(QuicImageType type, int width)
    {
        _type = type;
        _width = width;
        _bytes = ArrayPool<byte>.Shared.Rent(QuicCoreLayout.ByteScratch(width));
        _counters = ArrayPool<uint>.Shared.Rent(QuicCoreLayout.CounterScratch);
    }

    public readonly OperationStatus Encode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written)
    {
        int width = _width;
        int height = bitmap.Height;
        QuicImageType type = _type;
        var layout = new QuicCoreLayout(_bytes!, _counters!, width);
        QuicFamily family = type == QuicImageType.Rgb16 ? QuicFamily.Bpc5 : QuicFamily.Bpc8;
        int channels = type == QuicImageType.Gray ? 1 : 3;
        var main = new QuicModel(family, channels, width, layout.Tables(0, channels), layout.Counters(0, channels), layout.Best(0, channels));
        var alpha = new QuicModel(family, 1, width, layout.Tables(3, 1), layout.Counters(3, 1), layout.Best(3, 1));

        var w = new QuicBitWriter(destination);
        w.Put32(QuicHeader.Magic);
        w.Put32(QuicHeader.Version);
        w.Put32((uint)type);
        w.Put32((uint)width);
        w.Put32((uint)height);

        ref byte image = ref MemoryMarshal.GetReference(pixels);
        for (int y = 0; y < height; y++)
        {
            ref byte cur = ref Unsafe.Add(ref image, bitmap.RowOffset(y));
            ref byte prev = ref y == 0 ? ref cur : ref Unsafe.Add(ref image, bitmap.RowOffset(y - 1));
            switch (type)
            {
                case QuicImageType.Rgb32:
                    Row<QuicBgrx>(ref main, ref w, ref prev, ref cur, y == 0);
                    break;
                case QuicImageType.Rgba:
                    Row<QuicBgrx>(ref main, ref w, ref prev, ref cur, y == 0);
                    Row<QuicAlpha>(ref alpha, ref w, ref prev, ref cur, y == 0);
                    break;
                case QuicImageType.Rgb24:
                    Row<QuicBgr>(ref main, ref w, ref prev, ref cur, y == 0);
                    break;
                case QuicImageType.Rgb16:
                    Row<QuicX555>(ref main, ref w, ref prev, ref cur, y == 0);
                    break;
                default:
                    Row<QuicGray>(ref main, ref w, ref prev, ref cur, y == 0);
                    break;
            }

            if (w.Overflow)
            {
                written = 0;
                return OperationStatus.DestinationTooSmall;
            }
        }

        w.Flush();
        if (w.Overflow)
        {
            written = 0;
            return OperationStatus.DestinationTooSmall;
        }

        written = w.Position;
        return OperationStatus.Done;
    }

    public void Dispose()
    {
        if (_bytes != null)
        {
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = null;
        }

        if (_counters != null)
        {
            ArrayPool<uint>.Shared.Return(_counters);
            _counters = null;
        }
    }

    private static void Row<TPx>(ref QuicModel m, ref QuicBitWriter w, ref byte prev, ref byte cur, bool first)
        where TPx : struct, IQuicPixel
    {
        m.BeginRow(first);
        if (first)
        {
            QuicRowEncoder.EncodeRow<TPx, QuicFirstRow>(ref m, ref w, ref prev, ref cur);
        }
        else
        {
            QuicRowEncoder.EncodeRow<TPx, QuicLaterRow>(ref m, ref w, ref prev, ref cur);
        }
    }
}

/// <summary>Carves the pooled scratch into context rows, best codes and counters (up to 4 channels).</summary>
internal readonly ref struct QuicCoreLayout
{
    public const int CounterScratch = 4 * 8 * 8;

    private readonly Span<byte> _bytes;
    private readonly Span<uint> _counters;
    private readonly int _width;

    public QuicCoreLayout(byte[] bytes, uint[] counters, int width)
    {
        _bytes = bytes;
        _counters = counters;
        _width = width;
    }

    /// <summary>Model tables of the 3-channel and the 1-channel state (see <see cref="QuicModel"/>), 4 × 8 best codes.</summary>
    public static int ByteScratch(int width) => QuicModel.TableBytes(3, width) + QuicModel.TableBytes(1, width) + 32;

    public Span<byte> Tables(int firstChannel, int channels) =>
        _bytes.Slice(firstChannel == 0 ? 0 : QuicModel.TableBytes(3, _width), QuicModel.TableBytes(channels, _width));

    public Span<uint> Counters(int firstChannel, int channels) => _counters.Slice(firstChannel * 64, channels * 64);

    public Span<byte> Best(int firstChannel, int channels) =>
        _bytes.Slice(QuicModel.TableBytes(3, _width) + QuicModel.TableBytes(1, _width) + firstChannel * 8, channels * 8);
}
