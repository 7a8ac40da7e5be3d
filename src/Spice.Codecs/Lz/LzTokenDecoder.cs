using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Spice.Codecs.Lz;

/// <summary>How decoded LZ units are produced from literal bytes and copied by matches.</summary>
internal interface ILzUnit<T>
    where T : unmanaged
{
    /// <summary>Match length bias: 3 (one-byte units), 2 (RGB16) or 1 (RGB24/32).</summary>
    static abstract int Bias { get; }

    static abstract int LiteralBytes { get; }

    static abstract void Literal(ref T slot, ref byte src);

    static abstract void Copy(ref T slot, T from);
}

internal struct LzByteUnit : ILzUnit<byte>
{
    public static int Bias => 3;

    public static int LiteralBytes => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Literal(ref byte slot, ref byte src) => slot = src;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte slot, byte from) => slot = from;
}

internal struct LzRgb16Unit : ILzUnit<ushort>
{
    public static int Bias => 2;

    public static int LiteralBytes => 2;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Literal(ref ushort slot, ref byte src) => slot = (ushort)((src << 8) | Unsafe.Add(ref src, 1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref ushort slot, ushort from) => slot = from;
}

internal struct LzRgbUnit : ILzUnit<uint>
{
    public static int Bias => 1;

    public static int LiteralBytes => 3;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Literal(ref uint slot, ref byte src) =>
        slot = src | ((uint)Unsafe.Add(ref src, 1) << 8) | ((uint)Unsafe.Add(ref src, 2) << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref uint slot, uint from) => slot = from;
}

/// <summary>The alpha pass: only byte 3 of each 32-bit pixel is written.</summary>
internal struct LzAlphaUnit : ILzUnit<uint>
{
    public static int Bias => 3;

    public static int LiteralBytes => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Literal(ref uint slot, ref byte src) => slot = (slot & 0x00FFFFFF) | ((uint)src << 24);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref uint slot, uint from) => slot = (slot & 0x00FFFFFF) | (from & 0xFF000000);
}

/// <summary>The LZ token loop (lz_decompress_tmpl.c semantics) with every bound checked.</summary>
internal static class LzTokenDecoder
{
    private const int MaxCopy = 32;
    private const int MaxDistance = 8191;

    /// <summary>Fills <paramref name="output"/> exactly; false on malformed or truncated input.</summary>
    public static bool Decode<T, TUnit>(ReadOnlySpan<byte> src, ref int pos, Span<T> output)
        where T : unmanaged
        where TUnit : struct, ILzUnit<T>
    {
        int ip = pos;
        int op = 0;
        int limit = output.Length;
        ref T outRef = ref MemoryMarshal.GetReference(output);
        ref byte inRef = ref MemoryMarshal.GetReference(src);
        int srcLength = src.Length;

        while (op < limit)
        {
            if (ip >= srcLength)
            {
                return false;
            }

            uint ctrl = Unsafe.Add(ref inRef, ip++);
            if (ctrl >= MaxCopy)
            {
                uint len = (ctrl >> 5) - 1;
                uint ofs = (ctrl & 31) << 8;
                if (len == 6)
                {
                    uint code;
                    do
                    {
                        if (ip >= srcLength)
                        {
                            return false;
                        }

                        code = Unsafe.Add(ref inRef, ip++);
                        len += code;
                    }
                    while (code == 255 && len < (uint)limit);
                }

                if (ip >= srcLength)
                {
                    return false;
                }

                uint low = Unsafe.Add(ref inRef, ip++);
                ofs += low;
                if (low == 255 && ofs - low == (31 << 8))
                {
                    if (ip + 2 > srcLength)
                    {
                        return false;
                    }

                    ofs = ((uint)Unsafe.Add(ref inRef, ip) << 8) + Unsafe.Add(ref inRef, ip + 1) + MaxDistance;
                    ip += 2;
                }

                len += (uint)TUnit.Bias;
                ofs += 1;
                if (ofs > (uint)op || len > (uint)(limit - op))
                {
                    return false;
                }

                int from = op - (int)ofs;
                int end = op + (int)len;
                if (ofs == 1)
                {
                    T run = Unsafe.Add(ref outRef, from);
                    for (; op < end; op++)
                    {
                        TUnit.Copy(ref Unsafe.Add(ref outRef, op), run);
                    }
                }
                else
                {
                    for (; op < end; op++, from++)
                    {
                        TUnit.Copy(ref Unsafe.Add(ref outRef, op), Unsafe.Add(ref outRef, from));
                    }
                }
            }
            else
            {
                int count = (int)ctrl + 1;
                int bytes = count * TUnit.LiteralBytes;
                if (count > limit - op || bytes > srcLength - ip)
                {
                    return false;
                }

                for (int k = 0; k < count; k++)
                {
                    TUnit.Literal(ref Unsafe.Add(ref outRef, op++), ref Unsafe.Add(ref inRef, ip));
                    ip += TUnit.LiteralBytes;
                }
            }
        }

        pos = ip;
        return true;
    }
}
