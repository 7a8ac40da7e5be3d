using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.QuicImage;

/// <summary>
/// The adaptive model of one QUIC "state" (the shared RGB state with its 3 channels, or one alpha/gray channel):
/// per-channel context rows and buckets, the sparse-update wait mask, the tabrand sequence and the MELCODE run state.
/// <see cref="Tables"/> holds, per channel, the code to use for each context value (256 bytes: the best code of the
/// context's bucket, kept in step by <see cref="UpdateModel"/>, so the pixel loops need one load and no bucket lookup),
/// then the context row at <c>channels * 256</c>: <see cref="CorrStep"/> bytes per entry, entry i + 1 holds the
/// residuals of pixel i (channel c at offset c) and entry 0 the contexts of pixel 0. Encoder and decoder walk the same state machine, so their models stay identical.
/// </summary>
internal ref struct QuicModel
{
    public const int WmiMax = 6;
    private const int WmiNext = 2048;

    public const int CodeTableBytes = 256;

    private readonly Span<byte> _tables;
    private readonly Span<byte> _corr;
    private readonly Span<uint> _counters;  // channels × 8 buckets × 8 codes
    private readonly Span<byte> _best;      // channels × 8 buckets
    private readonly int _channels;

    public uint WaitCount;
    public int WmIndex;
    public int WmLeft;
    private uint _seed;
    private uint _wmTrigger;
    private int _melcState;
    private int _melcLen;
    private int _melcOrder;

    public QuicModel(QuicFamily family, int channels, int width, Span<byte> tables, Span<uint> counters, Span<byte> best)
    {
        Family = family;
        Width = width;
        _channels = channels;
        _tables = tables[..TableBytes(channels, width)];
        _tables[..(channels * CodeTableBytes)].Fill((byte)(family.Bpc - 1));
        _corr = _tables[(channels * CodeTableBytes)..];
        _counters = counters[..(channels * 64)];
        _best = best[..(channels * 8)];
        _counters.Clear();
        _best.Fill((byte)(family.Bpc - 1));
        _corr.Clear();
        WaitCount = 0;
        _seed = 0xFF;
        WmIndex = 0;
        WmLeft = WmiNext;
        _wmTrigger = TriggerTable[0];
        _melcState = 0;
        _melcLen = MelcodeJ[0];
        _melcOrder = 1 << _melcLen;
    }

    private static ReadOnlySpan<ushort> TriggerTable => [110, 550, 900, 800, 550, 400, 350, 250, 140, 160, 140];

    private static ReadOnlySpan<byte> MelcodeJ => [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    public readonly QuicFamily Family { get; }

    public readonly int Width { get; }

    public readonly int MelcLength => _melcLen;

    public readonly int MelcOrder => _melcOrder;

    /// <summary>Bytes a model of <paramref name="channels"/> channels needs in <see cref="Tables"/>.</summary>
    public static int TableBytes(int channels, int width) => channels * CodeTableBytes + (width + 1) * CorrStep(channels);

    /// <summary>Bytes per context-row entry: the channels of one pixel sit side by side (4 apart for 3 channels).</summary>
    public static int CorrStep(int channels) => channels == 1 ? 1 : 4;

    /// <summary>Per-context codes, then context rows (see the type's summary).</summary>
    public readonly ref byte Tables => ref MemoryMarshal.GetReference(_tables);

    /// <summary>
    /// After pixel 0 of a row segment: it counts toward the wait, or, when the wait is over, the model is updated and
    /// a new wait drawn. Returns the index of the next update given <paramref name="next"/>, the next pixel's index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int AfterFirstPixel(uint waitmask, int next)
    {
        if (WaitCount != 0)
        {
            WaitCount--;
        }
        else
        {
            WaitCount = TabRand() & waitmask;
            UpdateModel(0);
        }

        return next + (int)WaitCount;
    }

    /// <summary>Called before each row: the context of pixel 0 is the previous row's residual of pixel 0 (0 on row 0).</summary>
    public readonly void BeginRow(bool firstRow)
    {
        int step = CorrStep(_channels);
        for (int c = 0; c < _channels; c++)
        {
            _corr[c] = firstRow ? (byte)0 : _corr[step + c];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint TabRand() => QuicTabRand.Chaos[(int)(++_seed & 0xFF)];

    public void NextWaitMaskIndex()
    {
        WmIndex++;
        _wmTrigger = TriggerTable[Math.Min(WmIndex, 10)];
        WmLeft = WmiNext;
    }

    /// <summary>The run got one more full MELCODE order: move to the next state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MelcHit()
    {
        if (_melcState < 31)
        {
            _melcLen = MelcodeJ[++_melcState];
            _melcOrder = 1 << _melcLen;
        }
    }

    /// <summary>The run ended (its remainder was coded): move to the previous state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MelcEnd()
    {
        if (_melcState != 0)
        {
            _melcLen = MelcodeJ[--_melcState];
            _melcOrder = 1 << _melcLen;
        }
    }

    /// <summary>Updates each channel's bucket (context = residual of pixel index−1) with the residual of pixel index.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    public readonly void UpdateModel(int index)
    {
        QuicFamily f = Family;
        int bpc = f.Bpc;
        int step = CorrStep(_channels);
        ref byte corr = ref MemoryMarshal.GetReference(_corr);
        ref uint counters0 = ref MemoryMarshal.GetReference(_counters);
        ref byte best0 = ref MemoryMarshal.GetReference(_best);
        ref byte codes = ref MemoryMarshal.GetReference(_tables);
        ref byte bucketOf = ref MemoryMarshal.GetArrayDataReference(f.BucketOf);
        ref byte codeLength = ref MemoryMarshal.GetArrayDataReference(f.CodeLength);
        uint trigger = _wmTrigger;
        int mask = f.Mask;
        for (int c = 0; c < _channels; c++)
        {
            nint ci = index * step + c;
            int b = Unsafe.Add(ref bucketOf, Unsafe.Add(ref corr, ci) & mask);
            int bucket = c * 8 + b;
            ref byte lengths = ref Unsafe.Add(ref codeLength, Unsafe.Add(ref corr, ci + step) << 3);
            ref uint counters = ref Unsafe.Add(ref counters0, bucket * 8);
            int best = bpc - 1;
            uint bestLength = Unsafe.Add(ref counters, best) += Unsafe.Add(ref lengths, best);
            for (int k = bpc - 2; k >= 0; k--)
            {
                uint length = Unsafe.Add(ref counters, k) += Unsafe.Add(ref lengths, k);
                if (length < bestLength)
                {
                    best = k;
                    bestLength = length;
                }
            }

            if (Unsafe.Add(ref best0, bucket) != best)
            {
                Unsafe.Add(ref best0, bucket) = (byte)best;
                int first = f.BucketFirst[b];
                Unsafe.InitBlockUnaligned(ref Unsafe.Add(ref codes, c * CodeTableBytes + first), (byte)best, (uint)(f.BucketLast[b] - first + 1));
            }
            if (bestLength > trigger)
            {
                for (int k = 0; k < bpc; k++)
                {
                    Unsafe.Add(ref counters, k) >>= 1;
                }
            }
        }
    }
}
