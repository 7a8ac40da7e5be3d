using System.Runtime.CompilerServices;

namespace Spice.Codecs.QuicImage;

/// <summary>
/// A pixel layout the QUIC row coders read and write in place (no planar copy), as a type so the JIT specialises
/// the row loops per layout. Channel 0 is red (or the only channel), 1 green, 2 blue: the order QUIC codes them in.
/// </summary>
internal interface IQuicPixel
{
    /// <summary>1 (gray, alpha) or 3 (r, g, b).</summary>
    static abstract int Channels { get; }

    /// <summary>Bytes from one pixel to the next.</summary>
    static abstract int Bytes { get; }

    /// <summary>Bits per channel sample: 5 (RGB16) or 8.</summary>
    static abstract int Bpc { get; }

    /// <summary>Channel <paramref name="c"/> of the pixel at <paramref name="px"/>, as a QUIC sample (0..2^bpc−1).</summary>
    static abstract int Get(ref byte px, int c);

    /// <summary>Stores a decoded sample.</summary>
    static abstract void Set(ref byte px, int c, int value);

    /// <summary>Called by the decoder before the channels of a coded pixel are stored (clears pad bits).</summary>
    static abstract void Begin(ref byte px);

    /// <summary>Whether two pixels have the same coded channels.</summary>
    static abstract bool Same(ref byte a, ref byte b);

    /// <summary>Decoder run: pixel <paramref name="dst"/> takes the coded channels of <paramref name="src"/>.</summary>
    static abstract void Copy(ref byte src, ref byte dst);
}

/// <summary>B, G, R, pad (RGB32, the colour of RGBA, and RGB24 decoded to 32 bits); the decoder writes pad 0.</summary>
internal struct QuicBgrx : IQuicPixel
{
    public static int Channels => 3;

    public static int Bytes => 4;

    public static int Bpc => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Get(ref byte px, int c) => Unsafe.Add(ref px, 2 - c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ref byte px, int c, int value) => Unsafe.Add(ref px, 2 - c) = (byte)value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Begin(ref byte px) => Unsafe.Add(ref px, 3) = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte a, ref byte b) => ((Unsafe.ReadUnaligned<uint>(ref a) ^ Unsafe.ReadUnaligned<uint>(ref b)) & Rgb24Mask) == 0;

    /// <summary>Copies all four bytes: the pad is 0 (or, in the colour pass of RGBA, overwritten by the alpha pass).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte src, ref byte dst) => Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<uint>(ref src));

    private static uint Rgb24Mask => BitConverter.IsLittleEndian ? 0x00FFFFFFu : 0xFFFFFF00u;
}

/// <summary>B, G, R (RGB24).</summary>
internal struct QuicBgr : IQuicPixel
{
    public static int Channels => 3;

    public static int Bytes => 3;

    public static int Bpc => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Get(ref byte px, int c) => Unsafe.Add(ref px, 2 - c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ref byte px, int c, int value) => Unsafe.Add(ref px, 2 - c) = (byte)value;

    public static void Begin(ref byte px)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte a, ref byte b) =>
        Unsafe.ReadUnaligned<ushort>(ref a) == Unsafe.ReadUnaligned<ushort>(ref b) && Unsafe.Add(ref a, 2) == Unsafe.Add(ref b, 2);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte src, ref byte dst)
    {
        Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<ushort>(ref src));
        Unsafe.Add(ref dst, 2) = Unsafe.Add(ref src, 2);
    }
}

/// <summary>x1r5g5b5 little-endian words (RGB16), 5 bits per channel.</summary>
internal struct QuicX555 : IQuicPixel
{
    public static int Channels => 3;

    public static int Bytes => 2;

    public static int Bpc => 5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Get(ref byte px, int c) => (Word(ref px) >> (10 - 5 * c)) & 0x1F;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ref byte px, int c, int value)
    {
        int shift = 10 - 5 * c;
        int word = (Word(ref px) & ~(0x1F << shift)) | (value << shift);
        px = (byte)word;
        Unsafe.Add(ref px, 1) = (byte)(word >> 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Begin(ref byte px)
    {
        px = 0;
        Unsafe.Add(ref px, 1) = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte a, ref byte b) => ((Word(ref a) ^ Word(ref b)) & 0x7FFF) == 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte src, ref byte dst) => Unsafe.WriteUnaligned(ref dst, Unsafe.ReadUnaligned<ushort>(ref src));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Word(ref byte px) => px | (Unsafe.Add(ref px, 1) << 8);
}

/// <summary>RGB16 decoded to BGRX: each 5-bit sample stored as (v &lt;&lt; 3) | (v &gt;&gt; 2), pad 0.</summary>
internal struct QuicX555ToBgrx : IQuicPixel
{
    public static int Channels => 3;

    public static int Bytes => 4;

    public static int Bpc => 5;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Get(ref byte px, int c) => Unsafe.Add(ref px, 2 - c) >> 3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ref byte px, int c, int value) => Unsafe.Add(ref px, 2 - c) = (byte)((value << 3) | (value >> 2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Begin(ref byte px) => QuicBgrx.Begin(ref px);

    /// <summary>The expansion is one-to-one, so comparing expanded bytes compares the samples.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte a, ref byte b) => QuicBgrx.Same(ref a, ref b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte src, ref byte dst) => QuicBgrx.Copy(ref src, ref dst);
}

/// <summary>One byte per pixel (GRAY).</summary>
internal struct QuicGray : IQuicPixel
{
    public static int Channels => 1;

    public static int Bytes => 1;

    public static int Bpc => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Get(ref byte px, int c) => px;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ref byte px, int c, int value) => px = (byte)value;

    public static void Begin(ref byte px)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte a, ref byte b) => a == b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte src, ref byte dst) => dst = src;
}

/// <summary>The alpha byte of BGRA (the second QUIC state of RGBA).</summary>
internal struct QuicAlpha : IQuicPixel
{
    public static int Channels => 1;

    public static int Bytes => 4;

    public static int Bpc => 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Get(ref byte px, int c) => Unsafe.Add(ref px, 3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Set(ref byte px, int c, int value) => Unsafe.Add(ref px, 3) = (byte)value;

    public static void Begin(ref byte px)
    {
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Same(ref byte a, ref byte b) => Unsafe.Add(ref a, 3) == Unsafe.Add(ref b, 3);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte src, ref byte dst) => Unsafe.Add(ref dst, 3) = Unsafe.Add(ref src, 3);
}

/// <summary>What the row coders ask of pixels regardless of their layout.</summary>
internal static class QuicPixels
{
    /// <summary>
    /// A run may start at pixel <paramref name="i"/> (i &gt; 2) when the row above repeats there (i - 1 equals i) and
    /// the current row repeats just before it (i - 1 equals i - 2).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool RunStartsAt<TPx>(ref byte prev, ref byte cur, int i)
        where TPx : IQuicPixel =>
        TPx.Same(ref Unsafe.Add(ref prev, (nint)(i - 1) * TPx.Bytes), ref Unsafe.Add(ref prev, (nint)i * TPx.Bytes)) &&
        TPx.Same(ref Unsafe.Add(ref cur, (nint)(i - 1) * TPx.Bytes), ref Unsafe.Add(ref cur, (nint)(i - 2) * TPx.Bytes));
}
