using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.QuicImage;

/// <summary>
/// QUIC row decoder, the mirror of <see cref="QuicRowEncoder"/>: writes pixels in place in the output layout and
/// keeps the bit reader in locals for a segment. Invalid data never reads or writes outside the row and the stream.
/// </summary>
internal static class QuicRowDecoder
{
    /// <summary>Decodes one row into <paramref name="cur"/>; false when the data is invalid.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool DecodeRow<TPx, TRow>(ref QuicModel m, ref QuicBitReader r, ref byte prev, ref byte cur)
        where TPx : struct, IQuicPixel
        where TRow : struct, IQuicRowKind
    {
        int width = m.Width;
        int pos = 0;
        while (m.WmIndex < QuicModel.WmiMax && m.WmLeft <= width)
        {
            if (m.WmLeft != 0)
            {
                if (!Segment<TPx, TRow>(ref m, ref r, ref prev, ref cur, pos, pos + m.WmLeft))
                {
                    return false;
                }

                pos += m.WmLeft;
                width -= m.WmLeft;
            }

            m.NextWaitMaskIndex();
        }

        if (width != 0)
        {
            if (!Segment<TPx, TRow>(ref m, ref r, ref prev, ref cur, pos, pos + width))
            {
                return false;
            }

            if (m.WmIndex < QuicModel.WmiMax)
            {
                m.WmLeft -= width;
            }
        }

        return !r.Overrun;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Segment<TPx, TRow>(ref QuicModel m, ref QuicBitReader r, ref byte prev, ref byte cur, int i, int end)
        where TPx : struct, IQuicPixel
        where TRow : struct, IQuicRowKind
    {
        uint waitmask = (1u << m.WmIndex) - 1;
        QuicFamily f = m.Family;
        ref byte l2u = ref MemoryMarshal.GetArrayDataReference(f.L2U);
        ref uint golomb = ref MemoryMarshal.GetArrayDataReference(f.Decode);
        ref byte tables = ref m.Tables;
        ref byte src = ref r.Start;
        int limit = r.Limit;
        ulong window = r.Window;
        int avail = r.Avail;
        int pos = r.Pos;

        int stop;
        int runIndex = 0;
        if (i == 0)
        {
            Pixel<TPx>(TRow.First ? QuicPredict.Zero : QuicPredict.Above, 0, ref prev, ref cur, ref tables, ref l2u, ref golomb,
                ref src, limit, ref window, ref avail, ref pos);
            stop = m.AfterFirstPixel(waitmask, ++i);
        }
        else
        {
            stop = i + (int)m.WaitCount;
        }

        for (;;)
        {
            int last = Math.Min(stop, end - 1);
            for (; i <= last; i++)
            {
                if (!TRow.First && runIndex != i && i > 2 && QuicPixels.RunStartsAt<TPx>(ref prev, ref cur, i))
                {
                    goto Run;
                }

                Pixel<TPx>(TRow.First ? QuicPredict.Left : QuicPredict.Both, i, ref prev, ref cur, ref tables, ref l2u, ref golomb,
                    ref src, limit, ref window, ref avail, ref pos);
            }

            if (stop >= end)
            {
                m.WaitCount = (uint)(stop - end);
                break;
            }

            m.UpdateModel(stop);
            stop = i + (int)(m.TabRand() & waitmask);
            if (pos > limit + 4)
            {
                return false;
            }

            continue;

        Run:
            m.WaitCount = (uint)(stop - i);
            runIndex = i;
            r.Window = window;
            r.Avail = avail;
            r.Pos = pos;
            int runLength = DecodeRun(ref m, ref r);
            window = r.Window;
            avail = r.Avail;
            pos = r.Pos;
            if (runLength < 0 || runLength > end - i || r.Overrun)
            {
                return false;
            }

            for (int runEnd = i + runLength; i < runEnd; i++)
            {
                TPx.Copy(ref Unsafe.Add(ref cur, (nint)(i - 1) * TPx.Bytes), ref Unsafe.Add(ref cur, (nint)i * TPx.Bytes));
            }

            if (i == end)
            {
                return true;
            }

            stop = i + (int)m.WaitCount;
        }

        r.Window = window;
        r.Avail = avail;
        r.Pos = pos;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pixel<TPx>(int predict, int i, ref byte prev, ref byte cur, ref byte tables, ref byte l2u, ref uint golomb,
        ref byte src, int limit, ref ulong window, ref int avail, ref int pos)
        where TPx : struct, IQuicPixel
    {
        ref byte px = ref Unsafe.Add(ref cur, (nint)i * TPx.Bytes);
        ref byte up = ref Unsafe.Add(ref prev, (nint)i * TPx.Bytes);
        ref byte cr = ref Unsafe.Add(ref tables, TPx.Channels * QuicModel.CodeTableBytes + i * Step<TPx>());
        TPx.Begin(ref px);
        Channel<TPx>(0, predict, ref px, ref up, ref cr, ref tables, ref l2u, ref golomb, ref src, limit, ref window, ref avail, ref pos);
        if (TPx.Channels == 3)
        {
            Channel<TPx>(1, predict, ref px, ref up, ref Unsafe.Add(ref cr, 1), ref Unsafe.Add(ref tables, QuicModel.CodeTableBytes), ref l2u, ref golomb,
                ref src, limit, ref window, ref avail, ref pos);
            Channel<TPx>(2, predict, ref px, ref up, ref Unsafe.Add(ref cr, 2), ref Unsafe.Add(ref tables, 2 * QuicModel.CodeTableBytes), ref l2u, ref golomb,
                ref src, limit, ref window, ref avail, ref pos);
        }
    }

    /// <summary>
    /// Golomb-Rice codeword → residual (context row) → sample of channel <paramref name="c"/>. A codeword of code k
    /// is z zeros, a one and k bits (value (z &lt;&lt; k) + those bits), or, from the prefix limit on, the limit's zeros and
    /// a fixed-length escape (value = GR codewords + the escape bits); the shifted-out look-ahead gives both at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Channel<TPx>(int c, int predict, ref byte px, ref byte up, ref byte cr, ref byte codes, ref byte l2u, ref uint golomb,
        ref byte src, int limit, ref ulong window, ref int avail, ref int pos)
        where TPx : struct, IQuicPixel
    {
        const int Mask8 = 0xFF;
        int mask = (1 << TPx.Bpc) - 1;
        int k = Unsafe.Add(ref codes, cr & mask);
        uint g = Unsafe.Add(ref golomb, k);
        uint bits = (uint)(window >> 32);
        int zeros = QuicBitReader.LeadingZeros(bits);
        int length;
        uint value;
        if (zeros < (int)(g & 0xFF))
        {
            length = zeros + 1 + k;
            value = (bits >> (32 - length)) + (uint)((zeros - 1) << k);
        }
        else
        {
            length = (int)((g >> 8) & 0xFF);
            value = (g >> 16) + (bits >> (32 - length));
        }

        uint u = value & Mask8;
        Unsafe.Add(ref cr, Step<TPx>()) = (byte)u;
        int pred = predict switch
        {
            QuicPredict.Zero => 0,
            QuicPredict.Above => TPx.Get(ref up, c),
            QuicPredict.Left => TPx.Get(ref Unsafe.Subtract(ref px, TPx.Bytes), c),
            _ => (TPx.Get(ref Unsafe.Subtract(ref px, TPx.Bytes), c) + TPx.Get(ref up, c)) >> 1,
        };

        // L2U, the inverse of the encoder's zigzag; 5-bit streams use the table, which maps out-of-range values to 0 as C does.
        int delta = TPx.Bpc == 8 ? (int)((u >> 1) ^ (0 - (u & 1))) : Unsafe.Add(ref l2u, u);
        TPx.Set(ref px, c, (delta + pred) & mask);
        QuicBitReader.Eat(ref src, limit, ref window, ref avail, ref pos, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int DecodeRun(ref QuicModel m, ref QuicBitReader r)
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
                runLength += m.MelcOrder;
                m.MelcHit();
            }

            if (ones != 8)
            {
                r.Eat(ones + 1);
                break;
            }

            r.Eat(8);
            if (r.Overrun || runLength > m.Width)
            {
                return -1;
            }
        }

        if (m.MelcLength != 0)
        {
            runLength += (int)(r.Peek >> (32 - m.MelcLength));
            r.Eat(m.MelcLength);
        }

        m.MelcEnd();
        return runLength;
    }

    /// <summary>Context-row entry size for this layout (<see cref="QuicModel.CorrStep"/>), a JIT-time constant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Step<TPx>()
        where TPx : struct, IQuicPixel => TPx.Channels == 1 ? 1 : 4;
}
