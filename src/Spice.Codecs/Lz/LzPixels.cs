using System.Runtime.CompilerServices;

namespace Spice.Codecs.Lz;

/// <summary>Pixel behaviour of one LZ image type, specialised by the JIT through struct generics.</summary>
internal interface ILzPixel
{
    /// <summary>0 = one-byte units (PLT, A8, alpha pass), 1 = RGB16, 2 = RGB24/RGB32.</summary>
    static abstract int Kind { get; }

    static abstract bool Same(ref byte src, nint a, nint b);

    static abstract uint Hash(ref byte src, nint i);

    static abstract void Emit(ref LzWriter writer, ref byte src, nint i);
}

internal static class Djb2
{
    public const uint Start = 5381;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Step(uint h, uint c) => ((h << 5) + h) ^ c;
}

internal struct LzBytePixel : ILzPixel
{
    public static int Kind => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte src, nint a, nint b) => Unsafe.Add(ref src, a) == Unsafe.Add(ref src, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ref byte src, nint i)
    {
        uint h = Djb2.Step(Djb2.Start, Unsafe.Add(ref src, i));
        h = Djb2.Step(h, Unsafe.Add(ref src, i + 1));
        return Djb2.Step(h, Unsafe.Add(ref src, i + 2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Emit(ref LzWriter writer, ref byte src, nint i) => writer.Put(Unsafe.Add(ref src, i));
}

internal struct LzAlphaPixel : ILzPixel
{
    public static int Kind => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static byte A(ref byte src, nint i) => Unsafe.Add(ref src, i * 4 + 3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte src, nint a, nint b) => A(ref src, a) == A(ref src, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ref byte src, nint i)
    {
        uint h = Djb2.Step(Djb2.Start, A(ref src, i));
        h = Djb2.Step(h, A(ref src, i + 1));
        return Djb2.Step(h, A(ref src, i + 2));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Emit(ref LzWriter writer, ref byte src, nint i) => writer.Put(A(ref src, i));
}

internal struct LzRgb16Pixel : ILzPixel
{
    public static int Kind => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint P(ref byte src, nint i) => Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref src, i * 2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte src, nint a, nint b) => ((P(ref src, a) ^ P(ref src, b)) & 0x7FFF) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ref byte src, nint i)
    {
        uint h = Djb2.Start;
        for (nint k = 0; k < 3; k++)
        {
            uint p = P(ref src, i + k);
            h = Djb2.Step(h, p & 0xFF);
            h = Djb2.Step(h, (p >> 8) & 0x7F);
        }

        return h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Emit(ref LzWriter writer, ref byte src, nint i)
    {
        uint p = P(ref src, i);
        writer.Put((byte)(p >> 8));
        writer.Put((byte)p);
    }
}

internal struct LzRgb24Pixel : ILzPixel
{
    public static int Kind => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte src, nint a, nint b)
    {
        ref byte pa = ref Unsafe.Add(ref src, a * 3);
        ref byte pb = ref Unsafe.Add(ref src, b * 3);
        return Unsafe.ReadUnaligned<ushort>(ref pa) == Unsafe.ReadUnaligned<ushort>(ref pb) && Unsafe.Add(ref pa, 2) == Unsafe.Add(ref pb, 2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ref byte src, nint i) => LzRgbHash.Hash(ref Unsafe.Add(ref src, i * 3), 3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Emit(ref LzWriter writer, ref byte src, nint i) => writer.Put3(ref Unsafe.Add(ref src, i * 3));
}

internal struct LzRgb32Pixel : ILzPixel
{
    public static int Kind => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte src, nint a, nint b) =>
        ((Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref src, a * 4)) ^ Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref src, b * 4))) & 0xFFFFFF) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ref byte src, nint i) => LzRgbHash.Hash(ref Unsafe.Add(ref src, i * 4), 4);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Emit(ref LzWriter writer, ref byte src, nint i) => writer.Put3(ref Unsafe.Add(ref src, i * 4));
}

internal static class LzRgbHash
{
    /// <summary>DJB2 over r, g, b of three pixels that are <paramref name="bpp"/> bytes apart (bytes B, G, R).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static uint Hash(ref byte p, nint bpp)
    {
        uint h = Djb2.Start;
        for (nint k = 0; k < 3; k++)
        {
            ref byte q = ref Unsafe.Add(ref p, k * bpp);
            h = Djb2.Step(h, Unsafe.Add(ref q, 2));
            h = Djb2.Step(h, Unsafe.Add(ref q, 1));
            h = Djb2.Step(h, q);
        }

        return h;
    }
}

/// <summary>Byte writer over the destination that records overflow instead of throwing.</summary>
internal ref struct LzWriter
{
    private readonly Span<byte> _dst;
    private int _pos;
    private int _lastCopy;

    public LzWriter(Span<byte> dst)
    {
        _dst = dst;
        _pos = 0;
        _lastCopy = -1;
        Overflow = false;
    }

    public bool Overflow;

    public readonly int Position => _pos;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Put(byte b)
    {
        if ((uint)_pos < (uint)_dst.Length)
        {
            _dst[_pos] = b;
        }
        else
        {
            Overflow = true;
        }

        _pos++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Put3(ref byte bgr)
    {
        // Bytes B, G, R of the pixel in that order.
        if ((uint)(_pos + 3) <= (uint)_dst.Length)
        {
            ref byte d = ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(_dst), _pos);
            d = bgr;
            Unsafe.Add(ref d, 1) = Unsafe.Add(ref bgr, 1);
            Unsafe.Add(ref d, 2) = Unsafe.Add(ref bgr, 2);
            _pos += 3;
        }
        else
        {
            Put(bgr);
            Put(Unsafe.Add(ref bgr, 1));
            Put(Unsafe.Add(ref bgr, 2));
        }
    }

    public void Put32BE(uint v)
    {
        Put((byte)(v >> 24));
        Put((byte)(v >> 16));
        Put((byte)(v >> 8));
        Put((byte)v);
    }

    public void Put64BE(ulong v)
    {
        Put32BE((uint)(v >> 32));
        Put32BE((uint)v);
    }

    /// <summary>Writes a literal-count byte and remembers where, so it can be rewritten.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void PutCopyCount(byte count)
    {
        _lastCopy = _pos;
        Put(count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly void UpdateCopyCount(byte count)
    {
        if ((uint)_lastCopy < (uint)_dst.Length)
        {
            _dst[_lastCopy] = count;
        }
    }

    /// <summary>Drops the literal-count byte written last (it turned out not to be needed).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void DropLastCopyCount()
    {
        _pos--;
    }
}
