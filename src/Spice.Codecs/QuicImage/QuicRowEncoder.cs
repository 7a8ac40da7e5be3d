using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.QuicImage;

/// <summary>Row 0 (no row above: predict from the left, no runs) or a later row, as a type so each gets its own loop.</summary>
internal interface IQuicRowKind
{
    static abstract bool First { get; }
}

internal struct QuicFirstRow : IQuicRowKind
{
    public static bool First => true;
}

internal struct QuicLaterRow : IQuicRowKind
{
    public static bool First => false;
}

/// <summary>The predictor of a sample, a JIT-time constant in the row coders' inlined pixel code.</summary>
internal static class QuicPredict
{
    /// <summary>Pixel 0 of row 0.</summary>
    public const int Zero = 0;

    /// <summary>Pixel 0 of a later row: the pixel above.</summary>
    public const int Above = 1;

    /// <summary>Row 0: the pixel to the left.</summary>
    public const int Left = 2;

    /// <summary>Elsewhere: (left + above) / 2.</summary>
    public const int Both = 3;
}

/// <summary>
/// QUIC row encoder, specialised per pixel layout and row kind. Reads the pixels in place; the bit writer's state
/// lives in locals for a whole segment (written back around runs). The row loops are compiled fully optimised at
/// once (AggressiveOptimization): their tier-0 code is several times slower and a daemon's first screens would pay
/// for it until tiering caught up (measured: over a second of CPU with the machine busy).
/// </summary>
internal static class QuicRowEncoder
{
    /// <summary>Codes one row; <paramref name="prev"/> is the row above (ignored for the first row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void EncodeRow<TPx, TRow>(ref QuicModel m, ref QuicBitWriter w, ref byte prev, ref byte cur)
        where TPx : struct, IQuicPixel
        where TRow : struct, IQuicRowKind
    {
        int width = m.Width;
        int pos = 0;
        while (m.WmIndex < QuicModel.WmiMax && m.WmLeft <= width)
        {
            if (m.WmLeft != 0)
            {
                Segment<TPx, TRow>(ref m, ref w, ref prev, ref cur, pos, pos + m.WmLeft, (1u << m.WmIndex) - 1);
                width -= m.WmLeft;
                pos += m.WmLeft;
            }

            m.NextWaitMaskIndex();
        }

        if (width != 0)
        {
            Segment<TPx, TRow>(ref m, ref w, ref prev, ref cur, pos, pos + width, (1u << m.WmIndex) - 1);
            if (m.WmIndex < QuicModel.WmiMax)
            {
                m.WmLeft -= width;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Segment<TPx, TRow>(ref QuicModel m, ref QuicBitWriter w, ref byte prev, ref byte cur, int i, int end, uint waitmask)
        where TPx : struct, IQuicPixel
        where TRow : struct, IQuicRowKind
    {
        ref uint code = ref MemoryMarshal.GetArrayDataReference(m.Family.Code);
        ref byte tables = ref m.Tables;
        ref byte dst = ref w.Start;
        int limit = w.Limit;
        ulong acc = w.Acc;
        int bits = w.Bits;
        int pos = w.Pos;

        int stop;
        int runIndex = 0;
        if (i == 0)
        {
            Pixel<TPx>(TRow.First ? QuicPredict.Zero : QuicPredict.Above, 0, ref prev, ref cur, ref tables, ref code, ref dst, limit, ref acc, ref bits, ref pos);
            stop = m.AfterFirstPixel(waitmask, ++i);
        }
        else
        {
            stop = i + (int)m.WaitCount;
        }

        for (;;)
        {
            // Pixels up to 'stop' (inclusive) then a model update, until the segment ends; a run may start anywhere.
            int last = Math.Min(stop, end - 1);
            for (; i <= last; i++)
            {
                if (!TRow.First && runIndex != i && i > 2 && QuicPixels.RunStartsAt<TPx>(ref prev, ref cur, i))
                {
                    goto Run;
                }

                Pixel<TPx>(TRow.First ? QuicPredict.Left : QuicPredict.Both, i, ref prev, ref cur, ref tables, ref code, ref dst, limit, ref acc, ref bits, ref pos);
            }

            if (stop >= end)
            {
                m.WaitCount = (uint)(stop - end);
                break;
            }

            m.UpdateModel(stop);
            stop = i + (int)(m.TabRand() & waitmask);
            continue;

        Run:
            runIndex = i;
            m.WaitCount = (uint)(stop - i);
            int runStart = i;
            while (TPx.Same(ref Unsafe.Add(ref cur, (nint)i * TPx.Bytes), ref Unsafe.Add(ref cur, (nint)(i - 1) * TPx.Bytes)))
            {
                if (++i == end)
                {
                    break;
                }
            }

            w.Acc = acc;
            w.Bits = bits;
            w.Pos = pos;
            EncodeRun(ref m, ref w, i - runStart);
            acc = w.Acc;
            bits = w.Bits;
            pos = w.Pos;
            if (i == end)
            {
                return;
            }

            stop = i + (int)m.WaitCount;
        }

        w.Acc = acc;
        w.Bits = bits;
        w.Pos = pos;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pixel<TPx>(int predict, int i, ref byte prev, ref byte cur, ref byte tables, ref uint code,
        ref byte dst, int limit, ref ulong acc, ref int bits, ref int pos)
        where TPx : struct, IQuicPixel
    {
        ref byte px = ref Unsafe.Add(ref cur, (nint)i * TPx.Bytes);
        ref byte up = ref Unsafe.Add(ref prev, (nint)i * TPx.Bytes);
        ref byte cr = ref Unsafe.Add(ref tables, TPx.Channels * QuicModel.CodeTableBytes + i * Step<TPx>());
        Channel<TPx>(0, predict, ref px, ref up, ref cr, ref tables, ref code, ref dst, limit, ref acc, ref bits, ref pos);
        if (TPx.Channels == 3)
        {
            Channel<TPx>(1, predict, ref px, ref up, ref Unsafe.Add(ref cr, 1), ref Unsafe.Add(ref tables, QuicModel.CodeTableBytes), ref code,
                ref dst, limit, ref acc, ref bits, ref pos);
            Channel<TPx>(2, predict, ref px, ref up, ref Unsafe.Add(ref cr, 2), ref Unsafe.Add(ref tables, 2 * QuicModel.CodeTableBytes), ref code,
                ref dst, limit, ref acc, ref bits, ref pos);
        }
    }

    /// <summary>
    /// Residual of channel <paramref name="c"/> → context row, then its Golomb-Rice codeword → the writer. The
    /// residual is folded to 0, −1, 1, −2, … → 0, 1, 2, 3, … (the format's U2L table) by sign extension and a zigzag.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Channel<TPx>(int c, int predict, ref byte px, ref byte up, ref byte cr, ref byte codes, ref uint code,
        ref byte dst, int limit, ref ulong acc, ref int bits, ref int pos)
        where TPx : struct, IQuicPixel
    {
        int pred = predict switch
        {
            QuicPredict.Zero => 0,
            QuicPredict.Above => TPx.Get(ref up, c),
            QuicPredict.Left => TPx.Get(ref Unsafe.Subtract(ref px, TPx.Bytes), c),
            _ => (TPx.Get(ref Unsafe.Subtract(ref px, TPx.Bytes), c) + TPx.Get(ref up, c)) >> 1,
        };
        int residual = (TPx.Get(ref px, c) - pred) << (32 - TPx.Bpc) >> (32 - TPx.Bpc);
        uint u = (uint)((residual << 1) ^ (residual >> 31));
        uint k = Unsafe.Add(ref codes, cr);
        Unsafe.Add(ref cr, Step<TPx>()) = (byte)u;
        uint e = Unsafe.Add(ref code, (nint)((u << 3) | k));
        QuicBitWriter.Put(ref dst, limit, ref acc, ref bits, ref pos, e & 0xFFFFFF, (int)(e >> 24));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EncodeRun(ref QuicModel m, ref QuicBitWriter w, int runLength)
    {
        int hits = 0;
        while (runLength >= m.MelcOrder)
        {
            hits++;
            runLength -= m.MelcOrder;
            m.MelcHit();
        }

        QuicBitWriter.PutOnes(ref w.Start, w.Limit, ref w.Acc, ref w.Bits, ref w.Pos, hits);
        w.Put((uint)runLength, m.MelcLength + 1);
        m.MelcEnd();
    }

    /// <summary>Context-row entry size for this layout (<see cref="QuicModel.CorrStep"/>), a JIT-time constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step<TPx>()
        where TPx : struct, IQuicPixel => TPx.Channels == 1 ? 1 : 4;
}
