using System.Buffers;
using System.Runtime.InteropServices;
using Spice.Codecs.Lz;

namespace Spice.Codecs.Glz;

/// <summary>Options for the GLZ decoder window.</summary>
public sealed class GlzDecoderOptions
{
    public static GlzDecoderOptions Default { get; } = new();

    public CodecLimits Limits { get; init; } = CodecLimits.Default;

    /// <summary>Hard cap on the pixels kept in the window (spice-gtk allows up to 64 MiB / 4); older images are dropped beyond it.</summary>
    public long MaxWindowPixels { get; init; } = 64L * 1024 * 1024 / 4;

    /// <summary>True (default): write rows top-down even when the stream's rows are bottom-up.</summary>
    public bool FlipToTopDown { get; init; } = true;
}

/// <summary>
/// The client side of GLZ: a cross-image dictionary with spice-gtk's semantics (images keyed by id, a tail gap for
/// out-of-order arrival, release of images older than the newest in-order image's window head). Not thread-safe.
/// </summary>
public sealed class GlzDecoderWindow : IDisposable
{
    private readonly Dictionary<ulong, Entry> _images = new();
    private readonly GlzDecoderOptions _options;
    private ulong _tailGap;
    private ulong _oldest;
    private long _pixels;

    public GlzDecoderWindow(GlzDecoderOptions? options = null)
    {
        _options = options ?? GlzDecoderOptions.Default;
    }

    /// <summary>Number of images currently held.</summary>
    public int Count => _images.Count;

    /// <summary>True when image <paramref name="id"/> is in the window.</summary>
    public bool Contains(ulong id) => _images.ContainsKey(id);

    /// <summary>
    /// Decodes one GLZ image into <paramref name="destination"/> (BGRX, or BGRA for RGBA) and adds it to the window.
    /// Returns <see cref="OperationStatus.NeedMoreData"/> when it references an image that has not arrived yet
    /// (spice-gtk blocks there; the caller can retry once other display channels delivered it).
    /// </summary>
    public OperationStatus Decode(ReadOnlySpan<byte> source, Span<byte> destination, int destinationStride, out GlzHeader header)
    {
        OperationStatus status = GlzHeader.TryRead(source, _options.Limits, out header);
        if (status != OperationStatus.Done)
        {
            return status;
        }

        int rowBytes = header.Width * 4;
        ArgumentOutOfRangeException.ThrowIfLessThan(destinationStride, rowBytes);
        if (destination.Length < (long)destinationStride * (header.Height - 1) + rowBytes)
        {
            return OperationStatus.DestinationTooSmall;
        }

        if (_images.ContainsKey(header.Id) || (header.Id < _oldest && _images.Count > 0))
        {
            return OperationStatus.InvalidData;
        }

        int n = header.Pixels;
        uint[] pixels = ArrayPool<uint>.Shared.Rent(Math.Max(1, n));
        bool keep = false;
        try
        {
            int pos = GlzHeader.Size;
            status = DecodePass(source, ref pos, pixels.AsSpan(0, n), header, alpha: false);
            if (status == OperationStatus.Done && header.Type == LzImageType.Rgba)
            {
                status = DecodePass(source, ref pos, pixels.AsSpan(0, n), header, alpha: true);
            }

            if (status != OperationStatus.Done)
            {
                return status;
            }

            bool flip = _options.FlipToTopDown && !header.TopDown;
            ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(pixels.AsSpan(0, n));
            for (int y = 0; y < header.Height; y++)
            {
                int dataRow = flip ? header.Height - 1 - y : y;
                bytes.Slice(dataRow * rowBytes, rowBytes).CopyTo(destination.Slice(y * destinationStride));
            }

            Add(new Entry(header.Id, header.WindowHeadDistance, pixels, n));
            keep = true;
            return OperationStatus.Done;
        }
        finally
        {
            if (!keep)
            {
                ArrayPool<uint>.Shared.Return(pixels);
            }
        }
    }

    private void Add(Entry entry)
    {
        _images.Add(entry.Id, entry);
        _pixels += entry.Count;
        while (_tailGap <= entry.Id && _images.ContainsKey(_tailGap))
        {
            _tailGap++;
        }

        if (_images.TryGetValue(_tailGap - 1, out Entry newest))
        {
            ulong oldest = newest.Id - Math.Min(newest.Id, newest.HeadDistance);
            Release(oldest);
        }

        while (_pixels > _options.MaxWindowPixels && _images.Count > 1)
        {
            ulong min = ulong.MaxValue;
            foreach (ulong id in _images.Keys)
            {
                min = Math.Min(min, id);
            }

            Release(min + 1);
        }
    }

    /// <summary>Drops every image with an id below <paramref name="oldest"/> (O(images), never O(id range)).</summary>
    private void Release(ulong oldest)
    {
        if (oldest <= _oldest)
        {
            return;
        }

        foreach (KeyValuePair<ulong, Entry> kv in _images)
        {
            if (kv.Key < oldest)
            {
                _images.Remove(kv.Key);
                _pixels -= kv.Value.Count;
                ArrayPool<uint>.Shared.Return(kv.Value.Pixels);
            }
        }

        _oldest = oldest;
    }

    private OperationStatus DecodePass(ReadOnlySpan<byte> src, ref int ip, Span<uint> op, in GlzHeader header, bool alpha)
    {
        int bias = alpha ? 2 : header.Type == LzImageType.Rgb16 ? 1 : 0;
        int literalBytes = alpha ? 1 : header.Type == LzImageType.Rgb16 ? 2 : 3;
        bool rgb16 = !alpha && header.Type == LzImageType.Rgb16;
        int limit = op.Length;
        int o = 0;
        while (o < limit)
        {
            if (ip >= src.Length)
            {
                return OperationStatus.InvalidData;
            }

            int ctrl = src[ip++];
            if (ctrl >= 32)
            {
                uint len = (uint)(ctrl >> 5);
                int pixelFlag = (ctrl >> 4) & 1;
                uint pixelOfs = (uint)(ctrl & 0x0F);
                if (len == 7)
                {
                    int code;
                    do
                    {
                        if (ip >= src.Length)
                        {
                            return OperationStatus.InvalidData;
                        }

                        code = src[ip++];
                        len += (uint)code;
                    }
                    while (code == 255 && len <= (uint)limit);
                }

                if (ip + 2 > src.Length)
                {
                    return OperationStatus.InvalidData;
                }

                pixelOfs += (uint)src[ip++] << 4;
                int b = src[ip++];
                int imageFlag = (b >> 6) & 3;
                uint imageDist;
                if (ip + imageFlag > src.Length)
                {
                    return OperationStatus.InvalidData;
                }

                if (pixelFlag == 0)
                {
                    imageDist = (uint)(b & 0x3F);
                    for (int i = 0; i < imageFlag; i++)
                    {
                        imageDist += (uint)src[ip++] << (6 + 8 * i);
                    }
                }
                else
                {
                    bool longOfs = ((b >> 5) & 1) != 0;
                    pixelOfs += (uint)(b & 0x1F) << 12;
                    imageDist = 0;
                    for (int i = 0; i < imageFlag; i++)
                    {
                        imageDist += (uint)src[ip++] << (8 * i);
                    }

                    if (longOfs)
                    {
                        if (ip >= src.Length)
                        {
                            return OperationStatus.InvalidData;
                        }

                        pixelOfs += (uint)src[ip++] << 17;
                    }
                }

                len += (uint)bias;
                if (len > (uint)(limit - o))
                {
                    return OperationStatus.InvalidData;
                }

                ReadOnlySpan<uint> refPixels;
                int from;
                if (imageDist == 0)
                {
                    pixelOfs += 1;
                    if (pixelOfs > (uint)o)
                    {
                        return OperationStatus.InvalidData;
                    }

                    from = o - (int)pixelOfs;
                    refPixels = op;
                }
                else
                {
                    if (imageDist > header.Id)
                    {
                        return OperationStatus.InvalidData;
                    }

                    ulong refId = header.Id - imageDist;
                    if (!_images.TryGetValue(refId, out Entry e))
                    {
                        return refId < _oldest ? OperationStatus.InvalidData : OperationStatus.NeedMoreData;
                    }

                    if ((ulong)pixelOfs + len > (ulong)e.Count)
                    {
                        return OperationStatus.InvalidData;
                    }

                    refPixels = e.Pixels.AsSpan(0, e.Count);
                    from = (int)pixelOfs;
                }

                int end = o + (int)len;
                if (alpha)
                {
                    for (; o < end; o++, from++)
                    {
                        op[o] = (op[o] & 0x00FFFFFF) | (refPixels[from] & 0xFF000000);
                    }
                }
                else
                {
                    for (; o < end; o++, from++)
                    {
                        op[o] = refPixels[from];
                    }
                }
            }
            else
            {
                int count = ctrl + 1;
                if (count > limit - o || count * literalBytes > src.Length - ip)
                {
                    return OperationStatus.InvalidData;
                }

                for (int k = 0; k < count; k++, o++)
                {
                    if (alpha)
                    {
                        op[o] = (op[o] & 0x00FFFFFF) | ((uint)src[ip++] << 24);
                    }
                    else if (rgb16)
                    {
                        op[o] = GlzPixels.Rgb16ToRgb32(src[ip], src[ip + 1]);
                        ip += 2;
                    }
                    else
                    {
                        op[o] = src[ip] | ((uint)src[ip + 1] << 8) | ((uint)src[ip + 2] << 16);
                        ip += 3;
                    }
                }
            }
        }

        return OperationStatus.Done;
    }

    /// <summary>Drops every image and starts again at id 0 (spice-gtk's glz_decoder_window_clear).</summary>
    public void Reset()
    {
        Dispose();
        _tailGap = 0;
        _oldest = 0;
    }

    public void Dispose()
    {
        foreach (Entry e in _images.Values)
        {
            ArrayPool<uint>.Shared.Return(e.Pixels);
        }

        _images.Clear();
        _pixels = 0;
    }

    private readonly record struct Entry(ulong Id, uint HeadDistance, uint[] Pixels, int Count);
}

internal static class GlzPixels
{
    /// <summary>spice-gtk's RGB16 literal → x8r8g8b8 (byte arithmetic of decode-glz-tmpl.c; bit 15 is dropped).</summary>
    public static uint Rgb16ToRgb32(int hi, int lo)
    {
        int g = ((hi << 6) | (lo >> 2)) & ~0x07 & 0xFF;
        g |= g >> 5;
        int r = ((hi << 1) & ~0x07 & 0xFF) | ((hi >> 4) & 0x07);
        int b = ((lo << 3) | ((lo >> 2) & 0x07)) & 0xFF;
        return (uint)(b | (g << 8) | (r << 16));
    }
}
