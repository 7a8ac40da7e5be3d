using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.QuicImage;

/// <summary>
/// QUIC bit writer: bits fill 32-bit words from the MSB, words are stored little-endian. The row coders copy
/// <see cref="Acc"/>, <see cref="Bits"/> and <see cref="Pos"/> into locals for a segment and use <see cref="Put"/>
/// on those, so the hot loop keeps the writer in registers. Words past the end are counted, not written:
/// <see cref="Overflow"/> says so afterwards.
/// </summary>
internal ref struct QuicBitWriter
{
    public ulong Acc;
    public int Bits;
    public int Pos;
    private readonly Span<byte> _dst;

    public QuicBitWriter(Span<byte> dst)
    {
        _dst = dst;
        Acc = 0;
        Bits = 0;
        Pos = 0;
    }

    public readonly bool Overflow => Pos > _dst.Length;

    public readonly int Position => Pos;

    public readonly ref byte Start => ref MemoryMarshal.GetReference(_dst);

    /// <summary>The last byte offset at which a whole word still fits.</summary>
    public readonly int Limit => _dst.Length - 4;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Put(ref byte dst, int limit, ref ulong acc, ref int bits, ref int pos, uint value, int length)
    {
        acc = (acc << length) | value;
        bits += length;
        if (bits >= 32)
        {
            bits -= 32;
            uint word = (uint)(acc >> bits);
            if ((uint)pos <= (uint)limit)
            {
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, pos), BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word));
            }

            pos += 4;
        }
    }

    /// <summary><paramref name="n"/> one bits (a MELCODE run prefix).</summary>
    public static void PutOnes(ref byte dst, int limit, ref ulong acc, ref int bits, ref int pos, int n)
    {
        for (; n >= 16; n -= 16)
        {
            Put(ref dst, limit, ref acc, ref bits, ref pos, 0xFFFF, 16);
        }

        if (n != 0)
        {
            Put(ref dst, limit, ref acc, ref bits, ref pos, (1u << n) - 1, n);
        }
    }

    public void Put(uint value, int length) => Put(ref Start, Limit, ref Acc, ref Bits, ref Pos, value, length);

    public void Put32(uint value)
    {
        Put(value >> 16, 16);
        Put(value & 0xFFFF, 16);
    }

    /// <summary>Zero-pads the last word and appends one all-zero word (the decoder's look-ahead).</summary>
    public void Flush()
    {
        if (Bits > 0)
        {
            Put(0, 32 - Bits);
        }

        Put32(0);
    }
}

/// <summary>
/// QUIC bit reader with a 32-bit look-ahead; reading past the end yields zeros and sets <see cref="Overrun"/>.
/// Like the writer, the row decoders keep <see cref="Window"/>, <see cref="Avail"/> and <see cref="Pos"/> in locals.
/// </summary>
internal ref struct QuicBitReader
{
    public ulong Window;
    public int Avail;
    public int Pos;
    private readonly ReadOnlySpan<byte> _src;

    public QuicBitReader(ReadOnlySpan<byte> src)
    {
        _src = src;
        Window = 0;
        Avail = 0;
        Pos = 0;
        Refill(ref Start, Limit, ref Window, ref Avail, ref Pos);
    }

    /// <summary>True once a word past the end of the source was needed.</summary>
    public readonly bool Overrun => Pos > _src.Length;

    public readonly ref byte Start => ref MemoryMarshal.GetReference(_src);

    public readonly int Limit => _src.Length - 4;

    /// <summary>The next 32 bits, MSB first.</summary>
    public readonly uint Peek => (uint)(Window >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Eat(ref byte src, int limit, ref ulong window, ref int avail, ref int pos, int length)
    {
        window <<= length;
        avail -= length;
        if (avail < 32)
        {
            Refill(ref src, limit, ref window, ref avail, ref pos);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Refill(ref byte src, int limit, ref ulong window, ref int avail, ref int pos)
    {
        uint word = 0;
        if ((uint)pos <= (uint)limit)
        {
            word = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref src, pos));
            word = BitConverter.IsLittleEndian ? word : BinaryPrimitives.ReverseEndianness(word);
        }

        pos += 4;
        window |= (ulong)word << (32 - avail);
        avail += 32;
    }

    public void Eat(int length) => Eat(ref Start, Limit, ref Window, ref Avail, ref Pos, length);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LeadingZeros(uint bits) => BitOperations.LeadingZeroCount(bits);
}
