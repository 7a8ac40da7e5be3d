using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Spice.Codecs.QuicImage;

/// <summary>QUIC bit writer: bits fill 32-bit words from the MSB, words are stored little-endian.</summary>
internal ref struct QuicBitWriter
{
    private readonly Span<byte> _dst;
    private ulong _acc;
    private int _bits;
    private int _pos;

    public QuicBitWriter(Span<byte> dst)
    {
        _dst = dst;
        _acc = 0;
        _bits = 0;
        _pos = 0;
        Overflow = false;
    }

    public bool Overflow;

    public readonly int Position => _pos;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Put(uint value, int length)
    {
        _acc = (_acc << length) | value;
        _bits += length;
        if (_bits >= 32)
        {
            _bits -= 32;
            WriteWord((uint)(_acc >> _bits));
        }
    }

    public void Put32(uint value)
    {
        Put(value >> 16, 16);
        Put(value & 0xFFFF, 16);
    }

    public void PutOnes(int n)
    {
        for (int count = n >> 5; count > 0; count--)
        {
            Put32(uint.MaxValue);
        }

        n &= 31;
        if (n != 0)
        {
            Put((1u << n) - 1, n);
        }
    }

    /// <summary>Zero-pads the last word and appends one all-zero word (the decoder's look-ahead).</summary>
    public void Flush()
    {
        if (_bits > 0)
        {
            Put(0, 32 - _bits);
        }

        Put32(0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WriteWord(uint word)
    {
        if ((uint)_pos <= (uint)(_dst.Length - 4))
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_dst.Slice(_pos), word);
        }
        else
        {
            Overflow = true;
        }

        _pos += 4;
    }
}

/// <summary>QUIC bit reader with a 32-bit look-ahead; reading past the end yields zeros and sets <see cref="Overrun"/>.</summary>
internal ref struct QuicBitReader
{
    private readonly ReadOnlySpan<byte> _src;
    private ulong _win;
    private int _avail;
    private int _pos;

    public QuicBitReader(ReadOnlySpan<byte> src)
    {
        _src = src;
        _win = 0;
        _avail = 0;
        _pos = 0;
        Overrun = false;
        Refill();
    }

    public bool Overrun;

    /// <summary>The next 32 bits, MSB first.</summary>
    public readonly uint Peek => (uint)(_win >> 32);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Eat(int length)
    {
        _win <<= length;
        _avail -= length;
        if (_avail < 32)
        {
            Refill();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Refill()
    {
        uint word;
        if ((uint)_pos <= (uint)(_src.Length - 4))
        {
            word = BinaryPrimitives.ReadUInt32LittleEndian(_src.Slice(_pos));
        }
        else
        {
            word = 0;
            Overrun = true;
        }

        _pos += 4;
        _win |= (ulong)word << (32 - _avail);
        _avail += 32;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int LeadingZeros(uint bits) => BitOperations.LeadingZeroCount(bits);
}
