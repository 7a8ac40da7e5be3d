using System.Buffers;
using System.Runtime.CompilerServices;
using Spice.Codecs.Lz;

namespace Spice.Codecs.Glz;

/// <summary>One image being encoded: its source pixels (normalised to x8r8g8b8 + true alpha) and the client's reconstruction.</summary>
internal struct GlzEncoderCore : IDisposable
{
    private const int MaxCopy = 32;
    private const int MaxPixelOffset = (1 << 25) - 1;
    private const uint MaxImageDistance = (1 << 24) - 1;

    private readonly GlzEncoderDictionary _dict;
    private readonly LzImageType _type;
    private readonly int _count;
    private readonly ulong _oldestKept;
    private uint[]? _source;
    private uint[]? _decoded;
    private byte[]? _literals;
    private int _literalBpp;

    public GlzEncoderCore(GlzEncoderDictionary dict, LzImageType type, int count, ulong oldestKept)
    {
        _dict = dict;
        _type = type;
        _count = count;
        _oldestKept = oldestKept;
        _source = ArrayPool<uint>.Shared.Rent(count);
        _decoded = ArrayPool<uint>.Shared.Rent(count);
        _literals = null;
        _literalBpp = 0;
    }

    public void LoadSource(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, int bpp)
    {
        int w = bitmap.Width;
        _literalBpp = _type == LzImageType.Rgb16 ? 2 : 3;
        _literals = ArrayPool<byte>.Shared.Rent(_count * _literalBpp);
        Span<uint> src = _source.AsSpan(0, _count);
        Span<byte> lit = _literals.AsSpan(0, _count * _literalBpp);
        for (int y = 0; y < bitmap.Height; y++)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * bitmap.Stride, w * bpp);
            int o = y * w;
            for (int x = 0; x < w; x++)
            {
                switch (_type)
                {
                    case LzImageType.Rgb16:
                        {
                            int p = row[2 * x] | (row[2 * x + 1] << 8);
                            byte hi = (byte)(p >> 8), lo = (byte)p;
                            lit[(o + x) * 2] = hi;
                            lit[(o + x) * 2 + 1] = lo;
                            src[o + x] = GlzPixels.Rgb16ToRgb32(hi, lo);
                            break;
                        }

                    case LzImageType.Rgb24:
                        lit[(o + x) * 3] = row[3 * x];
                        lit[(o + x) * 3 + 1] = row[3 * x + 1];
                        lit[(o + x) * 3 + 2] = row[3 * x + 2];
                        src[o + x] = row[3 * x] | ((uint)row[3 * x + 1] << 8) | ((uint)row[3 * x + 2] << 16);
                        break;
                    default:
                        lit[(o + x) * 3] = row[4 * x];
                        lit[(o + x) * 3 + 1] = row[4 * x + 1];
                        lit[(o + x) * 3 + 2] = row[4 * x + 2];
                        uint a = _type == LzImageType.Rgba ? (uint)row[4 * x + 3] << 24 : 0;
                        src[o + x] = row[4 * x] | ((uint)row[4 * x + 1] << 8) | ((uint)row[4 * x + 2] << 16) | a;
                        break;
                }
            }
        }
    }

    /// <summary>Hands the reconstruction to the window (ownership moves).</summary>
    public uint[] TakeDecoded()
    {
        uint[] d = _decoded!;
        _decoded = null;
        return d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Key(uint p, bool alpha) => alpha ? p >> 24 : p & 0x00FFFFFF;

    public void Pass(ref LzWriter w, bool alpha)
    {
        GlzEncoderDictionary dict = _dict;
        ulong[] table = alpha ? dict.AlphaHash : dict.RgbHash;
        Span<uint> src = _source.AsSpan(0, _count);
        Span<uint> dec = _decoded.AsSpan(0, _count);
        ReadOnlySpan<byte> lit = _literals.AsSpan(0, _count * _literalBpp);
        ulong id = dict.NextImageId;
        int n = _count;
        int bias = alpha ? 2 : _type == LzImageType.Rgb16 ? 1 : 0;
        int minMatch = alpha ? 4 : 2;
        int unitBytes = alpha ? 1 : _literalBpp;
        int pendingStart = 0;
        int pending = 0;
        int i = 0;

        // The newest image still in the window: screen updates often resend the same region, so the pixel at the
        // same index there is a strong candidate besides the hash table's.
        GlzWindowEntry previous = default;
        bool hasPrevious = false;
        if (dict.Window.Count > 0)
        {
            foreach (GlzWindowEntry e in dict.Window)
            {
                previous = e;
            }

            hasPrevious = previous.Id >= _oldestKept && previous.Id < id;
        }

        while (i < n)
        {
            int bestLen = 0;
            int bestPos = 0;
            ulong bestImage = 0;
            uint[]? bestPixels = null;
            if (i + 2 < n)
            {
                uint k0 = Key(src[i], alpha), k1 = Key(src[i + 1], alpha), k2 = Key(src[i + 2], alpha);
                int h = dict.Hash3(k0, k1, k2);
                ulong cand = table[h];
                table[h] = Pack(id, i);

                // A run inside the image.
                if (i > 0 && Key(src[i - 1], alpha) == k0)
                {
                    int len = MatchLength(src, i, src, i - 1, n - (i - 1), alpha);
                    if (len >= minMatch)
                    {
                        bestLen = len;
                        bestPos = i - 1;
                        bestImage = id;
                    }
                }

                if (hasPrevious && i < previous.Count && i <= MaxPixelOffset && Key(previous.Pixels[i], alpha) == k0)
                {
                    int len = MatchLength(src, i, previous.Pixels, i, Math.Min(previous.Count - i, MaxPixelOffset + 1 - i), alpha);
                    if (len > bestLen)
                    {
                        bestLen = len;
                        bestPos = i;
                        bestImage = previous.Id;
                        bestPixels = previous.Pixels;
                    }
                }

                if (cand != 0)
                {
                    (ulong candId, int candPos) = Unpack(cand);
                    if (candId == id)
                    {
                        if (candPos < i && i - candPos - 1 <= MaxPixelOffset)
                        {
                            int len = MatchLength(src, i, src, candPos, n - candPos, alpha);
                            if (len > bestLen)
                            {
                                bestLen = len;
                                bestPos = candPos;
                                bestImage = id;
                                bestPixels = null;
                            }
                        }
                    }
                    else if (candId >= _oldestKept && candId < id && id - candId <= MaxImageDistance
                        && dict.TryGetImage(candId, out GlzWindowEntry e) && candPos < e.Count && candPos <= MaxPixelOffset)
                    {
                        int len = MatchLength(src, i, e.Pixels, candPos, Math.Min(e.Count - candPos, MaxPixelOffset + 1 - candPos), alpha);
                        if (len > bestLen)
                        {
                            bestLen = len;
                            bestPos = candPos;
                            bestImage = candId;
                            bestPixels = e.Pixels;
                        }
                    }
                }
            }

            if (bestLen >= minMatch)
            {
                bestLen = Math.Min(bestLen, n - i);
                uint imageDist = (uint)(id - bestImage);
                uint pixelOfs = imageDist == 0 ? (uint)(i - bestPos - 1) : (uint)bestPos;
                int cost = MatchCost(bestLen - bias, pixelOfs, imageDist);
                if (cost < bestLen * unitBytes)
                {
                    FlushLiterals(ref w, lit, src, dec, pendingStart, pending, alpha);
                    pending = 0;
                    EmitMatch(ref w, bestLen - bias, pixelOfs, imageDist);

                    // Mirror the client's copy exactly (including pad bytes of referenced pixels).
                    ReadOnlySpan<uint> from = bestPixels ?? (ReadOnlySpan<uint>)dec;
                    for (int k = 0; k < bestLen; k++)
                    {
                        uint v = from[bestPos + k];
                        dec[i + k] = alpha ? (dec[i + k] & 0x00FFFFFF) | (v & 0xFF000000) : v;
                    }

                    // Index a couple of positions inside the match so later data can find it.
                    int end = i + bestLen;
                    for (int p = i + 1; p < end && p + 2 < n && p < i + 4; p++)
                    {
                        table[dict.Hash3(Key(src[p], alpha), Key(src[p + 1], alpha), Key(src[p + 2], alpha))] = Pack(id, p);
                    }

                    i = end;
                    pendingStart = i;
                    continue;
                }
            }

            if (pending == 0)
            {
                pendingStart = i;
            }

            pending++;
            i++;
            if (pending == MaxCopy)
            {
                FlushLiterals(ref w, lit, src, dec, pendingStart, pending, alpha);
                pending = 0;
            }
        }

        FlushLiterals(ref w, lit, src, dec, pendingStart, pending, alpha);
    }

    private static int MatchLength(ReadOnlySpan<uint> cur, int i, ReadOnlySpan<uint> refPixels, int pos, int refAvailable, bool alpha)
    {
        int max = Math.Min(cur.Length - i, refAvailable);
        int len = 0;
        while (len < max && Key(cur[i + len], alpha) == Key(refPixels[pos + len], alpha))
        {
            len++;
        }

        return len;
    }

    private static int MatchCost(int encodedLen, uint pixelOfs, uint imageDist)
    {
        int cost = 3;
        if (encodedLen >= 7)
        {
            cost += 1 + (encodedLen - 7) / 255;
        }

        if (pixelOfs < 4096)
        {
            cost += imageDist < (1u << 6) ? 0 : imageDist < (1u << 14) ? 1 : imageDist < (1u << 22) ? 2 : 3;
        }
        else
        {
            cost += imageDist == 0 ? 0 : imageDist < (1u << 8) ? 1 : imageDist < (1u << 16) ? 2 : 3;
            cost += pixelOfs >= (1u << 17) ? 1 : 0;
        }

        return cost;
    }

    private static void EmitMatch(ref LzWriter w, int encodedLen, uint pixelOfs, uint imageDist)
    {
        bool shortOfs = pixelOfs < 4096;
        int lenField = Math.Min(encodedLen, 7);
        w.Put((byte)((lenField << 5) | (shortOfs ? 0 : 0x10) | (int)(pixelOfs & 0x0F)));
        if (encodedLen >= 7)
        {
            int rest = encodedLen - 7;
            for (; rest >= 255; rest -= 255)
            {
                w.Put(255);
            }

            w.Put((byte)rest);
        }

        w.Put((byte)(pixelOfs >> 4));
        if (shortOfs)
        {
            int extra = imageDist < (1u << 6) ? 0 : imageDist < (1u << 14) ? 1 : imageDist < (1u << 22) ? 2 : 3;
            w.Put((byte)((extra << 6) | (int)(imageDist & 0x3F)));
            for (int k = 0; k < extra; k++)
            {
                w.Put((byte)(imageDist >> (6 + 8 * k)));
            }
        }
        else
        {
            bool longOfs = pixelOfs >= (1u << 17);
            int extra = imageDist == 0 ? 0 : imageDist < (1u << 8) ? 1 : imageDist < (1u << 16) ? 2 : 3;
            w.Put((byte)((extra << 6) | (longOfs ? 0x20 : 0) | (int)((pixelOfs >> 12) & 0x1F)));
            for (int k = 0; k < extra; k++)
            {
                w.Put((byte)(imageDist >> (8 * k)));
            }

            if (longOfs)
            {
                w.Put((byte)(pixelOfs >> 17));
            }
        }
    }

    private readonly void FlushLiterals(ref LzWriter w, ReadOnlySpan<byte> lit, ReadOnlySpan<uint> src, Span<uint> dec, int start, int count, bool alpha)
    {
        if (count == 0)
        {
            return;
        }

        w.Put((byte)(count - 1));
        for (int k = start; k < start + count; k++)
        {
            if (alpha)
            {
                byte a = (byte)(src[k] >> 24);
                w.Put(a);
                dec[k] = (dec[k] & 0x00FFFFFF) | ((uint)a << 24);
            }
            else
            {
                for (int b = 0; b < _literalBpp; b++)
                {
                    w.Put(lit[k * _literalBpp + b]);
                }

                dec[k] = src[k] & 0x00FFFFFF;
            }
        }
    }

    /// <summary>Hash entries hold the image id + 1 and a 28-bit pixel index; 0 means empty.</summary>
    private static ulong Pack(ulong id, int pos) => ((id + 1) << 28) | (uint)pos;

    private static (ulong Id, int Pos) Unpack(ulong v)
    {
        ulong idPlusOne = v >> 28;
        return (idPlusOne - 1, (int)(v & ((1 << 28) - 1)));
    }

    public void Dispose()
    {
        if (_source != null)
        {
            ArrayPool<uint>.Shared.Return(_source);
            _source = null;
        }

        if (_decoded != null)
        {
            ArrayPool<uint>.Shared.Return(_decoded);
            _decoded = null;
        }

        if (_literals != null)
        {
            ArrayPool<byte>.Shared.Return(_literals);
            _literals = null;
        }
    }
}
