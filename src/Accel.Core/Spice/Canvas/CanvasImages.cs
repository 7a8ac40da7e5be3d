using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Display;
using Spice.Codecs;
using Spice.Codecs.Bitmap;
using Spice.Codecs.Glz;
using Spice.Codecs.Lz;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>An image a draw reads: a surface or cache entry (borrowed) or a freshly decoded image (owned).</summary>
internal readonly struct CanvasImageRef : IDisposable
{
    public CanvasImageRef(PixmanImage image, bool owned)
    {
        Image = image;
        Owned = owned;
    }

    public PixmanImage Image { get; }

    public bool Owned { get; }

    public void Dispose()
    {
        if (Owned)
        {
            Image.Dispose();
        }
    }
}

/// <summary>
/// Decodes the images of display messages with Spice.Codecs and keeps what the protocol says the client keeps: the
/// image cache (CACHE_ME, CACHE_REPLACE_ME, FROM_CACHE, FROM_CACHE_LOSSLESS, INVAL_*), the palette cache and the GLZ
/// window. Output formats follow spice-common's canvas: x8r8g8b8, a8r8g8b8 for images with alpha, a1 for masks.
/// </summary>
internal sealed class CanvasImages : IDisposable
{
    private const byte PalCacheMe = 1;
    private const byte PalFromCache = 2;
    private const byte BitmapTopDown = 4;

    private readonly CanvasLimits _limits;
    private readonly ImagePool _pool;
    private readonly Func<uint, PixmanImage> _surface;
    private readonly Dictionary<ulong, (PixmanImage Image, bool Lossy)> _cache = new();
    private readonly Dictionary<ulong, SpicePalette> _palettes = new();
    private readonly GlzDecoderWindow _glz = new();
    private readonly long[] _typeCounts = new long[256];
    private long _cachePixels;

    public CanvasImages(CanvasLimits limits, ImagePool pool, Func<uint, PixmanImage> surface)
    {
        _limits = limits;
        _pool = pool;
        _surface = surface;
        CacheCapacityPixels = limits.DefaultImageCachePixels;
    }

    /// <summary>The client's announced cache size (pixels), from DISPLAY_INIT.</summary>
    public long CacheCapacityPixels { get; set; }

    public int CachedImages => _cache.Count;

    public long CachedPixels => _cachePixels;

    public int Palettes => _palettes.Count;

    public int GlzImages => _glz.Count;

    /// <summary>Images read, by SpiceImageType (diagnostics; index = the type byte).</summary>
    public ReadOnlySpan<long> TypeCounts => _typeCounts;

    /// <summary>Decodes the image at <paramref name="pointer"/> (a mask as a1 when <paramref name="mask"/>).</summary>
    public CanvasImageRef Get(ReadOnlySpan<byte> body, uint pointer, bool mask = false)
    {
        var r = new CanvasReader(body).At(pointer, SpiceImageDescriptor.Size, "an image");
        var d = SpiceImageDescriptor.Read(body[(int)pointer..]);
        r.Skip(SpiceImageDescriptor.Size);
        _typeCounts[(byte)d.Type]++;
        switch (d.Type)
        {
            case SpiceImageType.Surface:
                return new CanvasImageRef(_surface(r.U32()), false);
            case SpiceImageType.FromCache:
            case SpiceImageType.FromCacheLossless:
                if (!_cache.TryGetValue(d.Id, out var entry))
                {
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"image {d.Id} is not in the cache");
                }

                if (d.Type == SpiceImageType.FromCacheLossless && entry.Lossy)
                {
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"image {d.Id} is cached lossy but asked for lossless");
                }

                return new CanvasImageRef(entry.Image, false);
        }

        int width = CheckSize(d);
        int height = (int)d.Height;
        PixmanImage image = mask ? DecodeMask(ref r, d, width, height, _pool) : Decode(ref r, body, d, width, height);
        if ((d.Flags & SpiceImageDescriptor.HighBitsSet) != 0 && image.Format == PixmanFormat.X8R8G8B8)
        {
            RasterOps.FillRop(image, new PixmanBox(0, 0, width, height), 0xFF000000, SpiceRop.Or);
        }

        bool lossy = d.Type is SpiceImageType.Jpeg or SpiceImageType.JpegAlpha;
        if ((d.Flags & SpiceImageDescriptor.CacheMe) != 0)
        {
            Put(d.Id, image, lossy);
            return new CanvasImageRef(image, false);
        }

        if ((d.Flags & SpiceImageDescriptor.CacheReplaceMe) != 0)
        {
            if (lossy)
            {
                image.Dispose();
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"CACHE_REPLACE_ME with a lossy image {d.Id}");
            }

            Put(d.Id, image, false);
            return new CanvasImageRef(image, false);
        }

        return new CanvasImageRef(image, true);
    }

    public void Invalidate(ulong id)
    {
        if (_cache.Remove(id, out var entry))
        {
            _cachePixels -= (long)entry.Image.Width * entry.Image.Height;
            entry.Image.Dispose();
        }
    }

    public void InvalidateAll()
    {
        foreach (var entry in _cache.Values)
        {
            entry.Image.Dispose();
        }

        _cache.Clear();
        _cachePixels = 0;
    }

    public void InvalidatePalette(ulong id) => _palettes.Remove(id);

    public void InvalidateAllPalettes() => _palettes.Clear();

    public void Dispose()
    {
        InvalidateAll();
        _glz.Dispose();
    }

    private void Put(ulong id, PixmanImage image, bool lossy)
    {
        Invalidate(id);
        long pixels = (long)image.Width * image.Height;
        long cap = Math.Min(_limits.MaxImageCachePixels, Math.Max(CacheCapacityPixels, 1) * 2);
        if (_cachePixels + pixels > cap)
        {
            image.Dispose();
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"the image cache would hold {_cachePixels + pixels} pixels (limit {cap})");
        }

        _cache[id] = (image, lossy);
        _cachePixels += pixels;
    }

    private int CheckSize(in SpiceImageDescriptor d)
    {
        if (d.Width == 0 || d.Height == 0 || d.Width > (uint)_limits.MaxDimension || d.Height > (uint)_limits.MaxDimension
            || (long)d.Width * d.Height > _limits.MaxImagePixels)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"image {d.Id} of {d.Width}x{d.Height} is outside the canvas limits");
        }

        return (int)d.Width;
    }

    private PixmanImage Decode(ref CanvasReader r, ReadOnlySpan<byte> body, in SpiceImageDescriptor d, int width, int height)
    {
        var payload = body[r.Position..];
        switch (d.Type)
        {
            case SpiceImageType.Bitmap:
                return DecodeBitmap(ref r, body, d, width, height);
            case SpiceImageType.LzPlt:
            {
                byte flags = r.U8();
                uint size = r.U32();
                var palette = ReadPalette(ref r, body, flags);
                var data = r.Bytes(size, "an LZ_PLT image");
                var image = _pool.Rent(PixmanFormat.X8R8G8B8, width, height, clear: true);
                var status = LzDecoder.Decode(data, image.Span, image.Stride, out var header, palette);
                return Check(status == OperationStatus.Done && header.Width == width && header.Height == height, image, d);
            }

            default:
            {
                if (!SpiceImageDecoder.Supports(d.Type))
                {
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"image type {(int)d.Type}");
                }

                bool alpha = d.Type == SpiceImageType.JpegAlpha || DisplayTranscoder.HasAlpha(d.Type, payload);
                var image = _pool.Rent(alpha ? PixmanFormat.A8R8G8B8 : PixmanFormat.X8R8G8B8, width, height, clear: true);
                var status = SpiceImageDecoder.Decode(d.Type, payload, width, height, image.Span, image.Stride, _glz, out _);
                return Check(status == OperationStatus.Done, image, d);
            }
        }
    }

    private PixmanImage DecodeBitmap(ref CanvasReader r, ReadOnlySpan<byte> body, in SpiceImageDescriptor d, int width, int height)
    {
        var format = (SpiceBitmapFormat)r.U8();
        byte flags = r.U8();
        uint w = r.U32();
        uint h = r.U32();
        uint stride = r.U32();
        var palette = SpiceBitmapFormats.IsPalette(format) ? ReadPalette(ref r, body, flags) : SkipPalette(ref r, flags);
        if (w != (uint)width || h != (uint)height || stride > int.MaxValue)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"bitmap {d.Id} is {w}x{h}, its descriptor {width}x{height}");
        }

        var data = r.Bytes((long)stride * height, "bitmap data");
        uint pixman = format switch
        {
            SpiceBitmapFormat.Rgba => PixmanFormat.A8R8G8B8,
            SpiceBitmapFormat.EightBitAlpha => PixmanFormat.A8R8G8B8,
            _ => PixmanFormat.X8R8G8B8,
        };
        var image = _pool.Rent(pixman, width, height, clear: true);
        var bitmap = new BitmapDescriptor(width, height, (int)stride, format, (flags & BitmapTopDown) != 0);
        if (SpiceBitmapFormats.BitsPerPixel(format) == 0 || stride < SpiceBitmapFormats.MinStride(format, width))
        {
            image.Dispose();
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"bitmap {d.Id} has format {(int)format} and stride {stride}");
        }

        return Check(BitmapDecoder.Decode(data, bitmap, image.Span, image.Stride, palette) == OperationStatus.Done, image, d);
    }

    /// <summary>A 1 bpp BITMAP as an a1 image (pixman's bit order on little-endian hosts is 1BIT_LE).</summary>
    private static PixmanImage DecodeMask(ref CanvasReader r, in SpiceImageDescriptor d, int width, int height, ImagePool pool)
    {
        if (d.Type != SpiceImageType.Bitmap)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a mask of image type {(int)d.Type}");
        }

        var format = (SpiceBitmapFormat)r.U8();
        byte flags = r.U8();
        uint w = r.U32();
        uint h = r.U32();
        uint stride = r.U32();
        SkipPalette(ref r, flags);
        int lineBytes = (width + 7) / 8;
        if (format is not (SpiceBitmapFormat.OneBitLE or SpiceBitmapFormat.OneBitBE) || w != (uint)width || h != (uint)height || stride < lineBytes)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"mask {d.Id}: format {(int)format}, {w}x{h}, stride {stride}");
        }

        var data = r.Bytes((long)stride * height, "mask data");
        var image = pool.Rent(PixmanFormat.A1, width, height, clear: true);
        bool topDown = (flags & BitmapTopDown) != 0;
        for (int y = 0; y < height; y++)
        {
            var src = data.Slice((topDown ? y : height - 1 - y) * (int)stride, lineBytes);
            var dst = image.Row(y);
            for (int i = 0; i < lineBytes; i++)
            {
                dst[i] = format == SpiceBitmapFormat.OneBitBE ? ReverseBits(src[i]) : src[i];
            }
        }

        return image;
    }

    private static byte ReverseBits(byte b)
    {
        b = (byte)((b & 0xF0) >> 4 | (b & 0x0F) << 4);
        b = (byte)((b & 0xCC) >> 2 | (b & 0x33) << 2);
        return (byte)((b & 0xAA) >> 1 | (b & 0x55) << 1);
    }

    private static SpicePalette? SkipPalette(ref CanvasReader r, byte flags)
    {
        r.Skip((flags & PalFromCache) != 0 ? 8 : 4);
        return null;
    }

    private SpicePalette ReadPalette(ref CanvasReader r, ReadOnlySpan<byte> body, byte flags)
    {
        if ((flags & PalFromCache) != 0)
        {
            ulong id = r.U64();
            return _palettes.TryGetValue(id, out var cached)
                ? cached
                : throw new SpiceProtocolException(SpiceProtocolError.InvalidValue, $"palette {id} is not in the cache");
        }

        uint pointer = r.U32();
        var p = r.At(pointer, 10, "a palette");
        ulong unique = p.U64();
        int count = p.U16();
        var entries = p.Bytes(count * 4L, "a palette");
        if (count is 0 or > 256)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a palette of {count} entries (1 to 256)");
        }

        Span<uint> values = stackalloc uint[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = BinaryPrimitives.ReadUInt32LittleEndian(entries[(i * 4)..]);
        }

        var palette = new SpicePalette(values, unique);
        if ((flags & PalCacheMe) != 0 && unique != 0)
        {
            if (_palettes.Count >= _limits.MaxPalettes && !_palettes.ContainsKey(unique))
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"more than {_limits.MaxPalettes} cached palettes");
            }

            _palettes[unique] = palette;
        }

        return palette;
    }

    private static PixmanImage Check(bool ok, PixmanImage image, in SpiceImageDescriptor d)
    {
        if (!ok)
        {
            image.Dispose();
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"image {d.Id} of type {(int)d.Type} does not decode");
        }

        return image;
    }
}
