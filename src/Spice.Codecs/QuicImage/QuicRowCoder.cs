using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.QuicImage;

/// <summary>Channel count as a type, so the JIT unrolls the per-channel loops.</summary>
internal interface IQuicChannels
{
    static abstract int Count { get; }
}

internal struct QuicOneChannel : IQuicChannels
{
    public static int Count => 1;
}

internal struct QuicThreeChannels : IQuicChannels
{
    public static int Count => 3;
}

/// <summary>
/// The adaptive model of one QUIC "state" (the shared RGB state with its 3 channels, or one alpha/gray channel):
/// per-channel context rows and buckets, the sparse-update wait mask, the tabrand sequence and the MELCODE run state.
/// Rows are planar: channel c of the current row is at <c>row[c * width ..]</c>.
/// Encoder and decoder walk the same state machine, so their models stay bit-identical.
/// </summary>
internal ref struct QuicRowCoder<TCh>
    where TCh : struct, IQuicChannels
{
    private const int WmiMax = 6;
    private const int WmiNext = 2048;

    private static ReadOnlySpan<ushort> TriggerTable => [110, 550, 900, 800, 550, 400, 350, 250, 140, 160, 140];

    private static ReadOnlySpan<byte> MelcodeJ => [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    private readonly QuicFamily _family;
    private readonly int _width;
    private readonly Span<byte> _corr;      // channels × (width + 1); [c*(w+1) + i + 1] holds the residual of pixel i
    private readonly Span<uint> _counters;  // channels × buckets × 8
    private readonly Span<byte> _best;      // channels × buckets

    private uint _waitcnt;
    private uint _seed;
    private uint _wmTrigger;
    private int _wmidx;
    private int _wmileft;
    private int _melcState;
    private int _melcLen;
    private int _melcOrder;

    public QuicRowCoder(QuicFamily family, int width, Span<byte> corr, Span<uint> counters, Span<byte> best)
    {
        int channels = TCh.Count;
        _family = family;
        _width = width;
        _corr = corr[..(channels * (width + 1))];
        _counters = counters[..(channels * family.BucketCount * 8)];
        _best = best[..(channels * family.BucketCount)];
        _counters.Clear();
        _best.Fill((byte)(family.Bpc - 1));
        _corr.Clear();
        _waitcnt = 0;
        _seed = 0xFF;
        _wmidx = 0;
        _wmileft = WmiNext;
        _wmTrigger = TriggerTable[0];
        _melcState = 0;
        _melcLen = MelcodeJ[0];
        _melcOrder = 1 << _melcLen;
    }

    public static int ScratchBytes(int channels, int width) => channels * (width + 1) + channels * 8;

    public static int ScratchCounters(int channels) => channels * 8 * 8;

    /// <summary>Called before each row: the context of pixel 0 is the previous row's residual of pixel 0 (0 on row 0).</summary>
    public readonly void BeginRow(bool firstRow)
    {
        int stride = _width + 1;
        for (int c = 0; c < TCh.Count; c++)
        {
            _corr[c * stride] = firstRow ? (byte)0 : _corr[c * stride + 1];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint TabRand() => QuicTabRand.Chaos[(int)(++_seed & 0xFF)];

    private void NextWaitMaskIndex()
    {
        _wmidx++;
        _wmTrigger = TriggerTable[Math.Min(_wmidx, 10)];
        _wmileft = WmiNext;
    }

    // ---------------------------------------------------------------- encoder

    /// <summary>Codes one row. <paramref name="prev"/> is empty for row 0.</summary>
    public void EncodeRow(ref QuicBitWriter w, ReadOnlySpan<byte> prev, ReadOnlySpan<byte> cur)
    {
        int width = _width;
        int pos = 0;
        while (_wmidx < WmiMax && _wmileft <= width)
        {
            if (_wmileft != 0)
            {
                EncodeSegment(ref w, prev, cur, pos, pos + _wmileft, (1u << _wmidx) - 1);
                width -= _wmileft;
                pos += _wmileft;
            }

            NextWaitMaskIndex();
        }

        if (width != 0)
        {
            EncodeSegment(ref w, prev, cur, pos, pos + width, (1u << _wmidx) - 1);
            if (_wmidx < WmiMax)
            {
                _wmileft -= width;
            }
        }
    }

    private void EncodeSegment(ref QuicBitWriter w, ReadOnlySpan<byte> prev, ReadOnlySpan<byte> cur, int i, int end, uint waitmask)
    {
        bool row0 = prev.IsEmpty;
        int stop;
        int runIndex = 0;
        if (i == 0)
        {
            EncodePixel(ref w, prev, cur, 0, row0);
            if (_waitcnt != 0)
            {
                _waitcnt--;
            }
            else
            {
                _waitcnt = TabRand() & waitmask;
                UpdateModel(0);
            }

            stop = ++i + (int)_waitcnt;
        }
        else
        {
            stop = i + (int)_waitcnt;
        }

        for (;;)
        {
            while (stop < end)
            {
                for (; i <= stop; i++)
                {
                    if (!row0 && runIndex != i && i > 2 && SamePixel(prev, i - 1, prev, i) && SamePixel(cur, i - 1, cur, i - 2))
                    {
                        goto Run;
                    }

                    EncodePixel(ref w, prev, cur, i, row0);
                }

                UpdateModel(stop);
                stop = i + (int)(TabRand() & waitmask);
            }

            for (; i < end; i++)
            {
                if (!row0 && runIndex != i && i > 2 && SamePixel(prev, i - 1, prev, i) && SamePixel(cur, i - 1, cur, i - 2))
                {
                    goto Run;
                }

                EncodePixel(ref w, prev, cur, i, row0);
            }

            _waitcnt = (uint)(stop - end);
            return;

        Run:
            runIndex = i;
            _waitcnt = (uint)(stop - i);
            int runSize = 0;
            while (SamePixel(cur, i, cur, i - 1))
            {
                runSize++;
                if (++i == end)
                {
                    EncodeRun(ref w, runSize);
                    return;
                }
            }

            EncodeRun(ref w, runSize);
            stop = i + (int)_waitcnt;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void EncodePixel(ref QuicBitWriter w, ReadOnlySpan<byte> prev, ReadOnlySpan<byte> cur, int i, bool row0)
    {
        QuicFamily f = _family;
        int mask = f.Mask;
        int width = _width;
        int cstride = width + 1;
        ref byte curRef = ref MemoryMarshal.GetReference(cur);
        ref byte prevRef = ref MemoryMarshal.GetReference(prev);
        ref byte corr = ref MemoryMarshal.GetReference(_corr);
        ref byte best = ref MemoryMarshal.GetReference(_best);
        ref byte u2l = ref MemoryMarshal.GetArrayDataReference(f.U2L);
        ref byte bucketOf = ref MemoryMarshal.GetArrayDataReference(f.BucketOf);
        ref uint code = ref MemoryMarshal.GetArrayDataReference(f.Code);
        ref byte codeLength = ref MemoryMarshal.GetArrayDataReference(f.CodeLength);
        int buckets = f.BucketCount;
        for (int c = 0; c < TCh.Count; c++)
        {
            nint off = c * width + i;
            int x = Unsafe.Add(ref curRef, off);
            int pred;
            if (row0)
            {
                pred = i == 0 ? 0 : Unsafe.Add(ref curRef, off - 1);
            }
            else
            {
                pred = i == 0 ? Unsafe.Add(ref prevRef, off) : (Unsafe.Add(ref curRef, off - 1) + Unsafe.Add(ref prevRef, off)) >> 1;
            }

            byte u = Unsafe.Add(ref u2l, (x - pred) & mask);
            nint ci = c * cstride + i;
            Unsafe.Add(ref corr, ci + 1) = u;
            int k = Unsafe.Add(ref best, c * buckets + Unsafe.Add(ref bucketOf, Unsafe.Add(ref corr, ci) & mask));
            nint idx = (u << 3) | k;
            w.Put(Unsafe.Add(ref code, idx), Unsafe.Add(ref codeLength, idx));
        }
    }

    private void EncodeRun(ref QuicBitWriter w, int runLength)
    {
        int hits = 0;
        while (runLength >= _melcOrder)
        {
            hits++;
            runLength -= _melcOrder;
            if (_melcState < 31)
            {
                _melcLen = MelcodeJ[++_melcState];
                _melcOrder = 1 << _melcLen;
            }
        }

        w.PutOnes(hits);
        w.Put((uint)runLength, _melcLen + 1);
        if (_melcState != 0)
        {
            _melcLen = MelcodeJ[--_melcState];
            _melcOrder = 1 << _melcLen;
        }
    }

    // ---------------------------------------------------------------- decoder

    /// <summary>Decodes one row into <paramref name="cur"/>; false when the data is invalid.</summary>
    public bool DecodeRow(ref QuicBitReader r, ReadOnlySpan<byte> prev, Span<byte> cur)
    {
        int width = _width;
        int pos = 0;
        while (_wmidx < WmiMax && _wmileft <= width)
        {
            if (_wmileft != 0)
            {
                if (!DecodeSegment(ref r, prev, cur, pos, pos + _wmileft))
                {
                    return false;
                }

                pos += _wmileft;
                width -= _wmileft;
            }

            NextWaitMaskIndex();
        }

        if (width != 0)
        {
            if (!DecodeSegment(ref r, prev, cur, pos, pos + width))
            {
                return false;
            }

            if (_wmidx < WmiMax)
            {
                _wmileft -= width;
            }
        }

        return !r.Overrun;
    }

    private bool DecodeSegment(ref QuicBitReader r, ReadOnlySpan<byte> prev, Span<byte> cur, int i, int end)
    {
        bool row0 = prev.IsEmpty;
        uint waitmask = (1u << _wmidx) - 1;
        int stop;
        int runIndex = 0;
        if (i == 0)
        {
            DecodePixel(ref r, prev, cur, 0, row0);
            if (_waitcnt != 0)
            {
                _waitcnt--;
            }
            else
            {
                _waitcnt = TabRand() & waitmask;
                UpdateModel(0);
            }

            stop = ++i + (int)_waitcnt;
        }
        else
        {
            stop = i + (int)_waitcnt;
        }

        for (;;)
        {
            while (stop < end)
            {
                for (; i <= stop; i++)
                {
                    if (!row0 && runIndex != i && i > 2 && SamePixel(prev, i - 1, prev, i) && SamePixel(cur, i - 1, cur, i - 2))
                    {
                        goto Run;
                    }

                    DecodePixel(ref r, prev, cur, i, row0);
                }

                UpdateModel(stop);
                stop = i + (int)(TabRand() & waitmask);
                if (r.Overrun)
                {
                    return false;
                }
            }

            for (; i < end; i++)
            {
                if (!row0 && runIndex != i && i > 2 && SamePixel(prev, i - 1, prev, i) && SamePixel(cur, i - 1, cur, i - 2))
                {
                    goto Run;
                }

                DecodePixel(ref r, prev, cur, i, row0);
            }

            _waitcnt = (uint)(stop - end);
            return true;

        Run:
            _waitcnt = (uint)(stop - i);
            runIndex = i;
            int runLength = DecodeRun(ref r);
            if (runLength < 0 || runLength > end - i || r.Overrun)
            {
                return false;
            }

            int runEnd = i + runLength;
            for (; i < runEnd; i++)
            {
                for (int c = 0; c < TCh.Count; c++)
                {
                    int off = c * _width + i;
                    cur[off] = cur[off - 1];
                }
            }

            if (i == end)
            {
                return true;
            }

            stop = i + (int)_waitcnt;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly void DecodePixel(ref QuicBitReader r, ReadOnlySpan<byte> prev, Span<byte> cur, int i, bool row0)
    {
        QuicFamily f = _family;
        int mask = f.Mask;
        int width = _width;
        int cstride = width + 1;
        ref byte curRef = ref MemoryMarshal.GetReference(cur);
        ref byte prevRef = ref MemoryMarshal.GetReference(prev);
        ref byte corr = ref MemoryMarshal.GetReference(_corr);
        ref byte best = ref MemoryMarshal.GetReference(_best);
        ref byte l2u = ref MemoryMarshal.GetArrayDataReference(f.L2U);
        ref byte bucketOf = ref MemoryMarshal.GetArrayDataReference(f.BucketOf);
        ref byte alt = ref MemoryMarshal.GetArrayDataReference(f.AltPrefixLength);
        ref int ngr = ref MemoryMarshal.GetArrayDataReference(f.GrCodewords);
        ref byte notGrLength = ref MemoryMarshal.GetArrayDataReference(f.NotGrCodeLength);
        ref byte notGrSuffix = ref MemoryMarshal.GetArrayDataReference(f.NotGrSuffixLength);
        int buckets = f.BucketCount;
        for (int c = 0; c < TCh.Count; c++)
        {
            nint ci = c * cstride + i;
            int k = Unsafe.Add(ref best, c * buckets + Unsafe.Add(ref bucketOf, Unsafe.Add(ref corr, ci) & mask));
            uint bits = r.Peek;
            int value;
            int length;
            int zeros = QuicBitReader.LeadingZeros(bits);
            if (zeros < Unsafe.Add(ref alt, k))
            {
                length = zeros + 1 + k;
                value = (zeros << k) | (int)((bits >> (32 - length)) & ((1u << k) - 1));
            }
            else
            {
                length = Unsafe.Add(ref notGrLength, k);
                value = Unsafe.Add(ref ngr, k) + (int)((bits >> (32 - length)) & ((1u << Unsafe.Add(ref notGrSuffix, k)) - 1));
            }

            byte u = (byte)value;
            Unsafe.Add(ref corr, ci + 1) = u;
            nint off = c * width + i;
            int pred;
            if (row0)
            {
                pred = i == 0 ? 0 : Unsafe.Add(ref curRef, off - 1);
            }
            else
            {
                pred = i == 0 ? Unsafe.Add(ref prevRef, off) : (Unsafe.Add(ref curRef, off - 1) + Unsafe.Add(ref prevRef, off)) >> 1;
            }

            Unsafe.Add(ref curRef, off) = (byte)((Unsafe.Add(ref l2u, u) + pred) & mask);
            r.Eat(length);
        }
    }

    private int DecodeRun(ref QuicBitReader r)
    {
        int runLength = 0;
        for (;;)
        {
            int ones = QuicBitReader.LeadingZeros(~r.Peek);
            if (ones > 8)
            {
                ones = 8;
            }

            for (int hits = 1; hits <= ones; hits++)
            {
                runLength += _melcOrder;
                if (_melcState < 31)
                {
                    _melcLen = MelcodeJ[++_melcState];
                    _melcOrder = 1 << _melcLen;
                }
            }

            if (ones != 8)
            {
                r.Eat(ones + 1);
                break;
            }

            r.Eat(8);
            if (r.Overrun || runLength > _width)
            {
                return -1;
            }
        }

        if (_melcLen != 0)
        {
            runLength += (int)(r.Peek >> (32 - _melcLen));
            r.Eat(_melcLen);
        }

        if (_melcState != 0)
        {
            _melcLen = MelcodeJ[--_melcState];
            _melcOrder = 1 << _melcLen;
        }

        return runLength;
    }

    // ---------------------------------------------------------------- shared

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly bool SamePixel(ReadOnlySpan<byte> a, int ia, ReadOnlySpan<byte> b, int ib)
    {
        ref byte ra = ref MemoryMarshal.GetReference(a);
        ref byte rb = ref MemoryMarshal.GetReference(b);
        int width = _width;
        for (int c = 0; c < TCh.Count; c++)
        {
            if (Unsafe.Add(ref ra, c * width + ia) != Unsafe.Add(ref rb, c * width + ib))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Updates each channel's bucket (context = residual of pixel index−1) with the residual of pixel index.</summary>
    private readonly void UpdateModel(int index)
    {
        QuicFamily f = _family;
        int bpc = f.Bpc;
        int cstride = _width + 1;
        for (int c = 0; c < TCh.Count; c++)
        {
            int ci = c * cstride + index;
            int bucket = c * f.BucketCount + f.BucketOf[_corr[ci] & f.Mask];
            int u = _corr[ci + 1];
            Span<uint> counters = _counters.Slice(bucket * 8, 8);
            int best = bpc - 1;
            uint bestLength = counters[best] += f.CodeLength[(u << 3) | best];
            for (int k = bpc - 2; k >= 0; k--)
            {
                uint length = counters[k] += f.CodeLength[(u << 3) | k];
                if (length < bestLength)
                {
                    best = k;
                    bestLength = length;
                }
            }

            _best[bucket] = (byte)best;
            if (bestLength > _wmTrigger)
            {
                for (int k = 0; k < bpc; k++)
                {
                    counters[k] >>= 1;
                }
            }
        }
    }
}
