using System.Runtime.CompilerServices;

namespace Spice.Codecs.Lz;

/// <summary>
/// The LZ match finder and token writer. It makes the same choices as spice-common's lz_compress_tmpl.c
/// (2^13-entry DJB2 hash table, run detection, near/far distances, literal runs of 32), so the bytes are identical.
/// Works on one contiguous segment of <c>count</c> pixels.
/// </summary>
internal static class LzCompressor
{
    public const int HashLog = 13;
    public const int HashSize = 1 << HashLog;
    private const int HashMask = HashSize - 1;
    private const int MaxCopy = 32;
    private const int MaxDistance = 8191;
    private const int MaxFarDistance = 65535 + MaxDistance - 1;

    /// <summary>Compresses <paramref name="count"/> pixels. <paramref name="hashTable"/> needs <see cref="HashSize"/> entries.</summary>
    public static void Compress<TPixel>(ref LzWriter w, ref byte src, int count, Span<int> hashTable)
        where TPixel : struct, ILzPixel
    {
        if (count < 4)
        {
            if (count > 0)
            {
                w.PutCopyCount((byte)(count - 1));
                for (int i = 0; i < count; i++)
                {
                    TPixel.Emit(ref w, ref src, i);
                }
            }

            return;
        }

        hashTable = hashTable[..HashSize];
        hashTable.Clear();

        w.PutCopyCount(MaxCopy - 1);
        TPixel.Emit(ref w, ref src, 0);
        TPixel.Emit(ref w, ref src, 1);

        CompressSegment<TPixel>(ref w, ref src, count, hashTable);
    }

    /// <summary>Whether the pixel at <paramref name="ip"/> repeats the one at <paramref name="reference"/>; if so, both advance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool MatchNext<TPixel>(ref byte src, ref int reference, ref int ip)
        where TPixel : struct, ILzPixel
    {
        if (!TPixel.Same(ref src, reference, ip))
        {
            return false;
        }

        reference++;
        ip++;
        return true;
    }

    private static void CompressSegment<TPixel>(ref LzWriter w, ref byte src, int count, Span<int> htab)
        where TPixel : struct, ILzPixel
    {
        int ip = 2;
        int ipBound = count - 2;
        int ipLimit = count - 6;
        int copy = 2;
        int refLimit = count;
        ref int hashRef = ref htab[0];
        bool oneByte = TPixel.Kind == 0;

        while (ip < ipLimit)
        {
            int anchor = ip;
            int reference;
            int distance;

            // A run: the previous pixel equals the next three.
            if (TPixel.Same(ref src, ip - 1, ip) && TPixel.Same(ref src, ip, ip + 1) && TPixel.Same(ref src, ip + 1, ip + 2))
            {
                distance = 1;
                ip += 3;
                reference = anchor + 2;
                goto Match;
            }

            {
                ref int slot = ref Unsafe.Add(ref hashRef, (nint)(TPixel.Hash(ref src, ip) & HashMask));
                reference = slot;
                distance = anchor - reference;
                slot = anchor;
            }

            if (distance == 0 || distance >= MaxFarDistance)
            {
                goto Literal;
            }

            if (!MatchNext<TPixel>(ref src, ref reference, ref ip))
            {
                goto Literal;
            }

            if (TPixel.Kind <= 1)
            {
                if (!MatchNext<TPixel>(ref src, ref reference, ref ip))
                {
                    goto Literal;
                }
            }

            if (oneByte)
            {
                if (!MatchNext<TPixel>(ref src, ref reference, ref ip))
                {
                    goto Literal;
                }
            }

            // Far matches need more matching pixels.
            if (distance >= MaxDistance)
            {
                if (oneByte ? reference >= refLimit - 1 : reference > refLimit - 1)
                {
                    goto Literal;
                }

                if (!MatchNext<TPixel>(ref src, ref reference, ref ip))
                {
                    goto Literal;
                }
                if (oneByte)
                {
                    if (!MatchNext<TPixel>(ref src, ref reference, ref ip))
                    {
                        goto Literal;
                    }
                }
            }

        Match:
            distance--;
            if (distance == 0)
            {
                int x = reference;
                while (ip < ipBound && reference < refLimit)
                {
                    if (!TPixel.Same(ref src, reference, x))
                    {
                        reference++;
                        break;
                    }

                    reference++;
                    ip++;
                }
            }
            else
            {
                while (ip < ipBound && reference < refLimit)
                {
                    if (!TPixel.Same(ref src, reference, ip))
                    {
                        reference++;
                        ip++;
                        break;
                    }

                    reference++;
                    ip++;
                }
            }

            if (copy != 0)
            {
                w.UpdateCopyCount((byte)(copy - 1));
            }
            else
            {
                w.DropLastCopyCount();
            }

            copy = 0;

            ip -= 3;
            int len = ip - anchor;
            if (TPixel.Kind == 1)
            {
                len++;
            }
            else if (TPixel.Kind == 2)
            {
                len += 2;
            }

            if (distance < MaxDistance)
            {
                if (len < 7)
                {
                    w.Put((byte)((len << 5) + (distance >> 8)));
                    w.Put((byte)distance);
                }
                else
                {
                    w.Put((byte)((7 << 5) + (distance >> 8)));
                    for (len -= 7; len >= 255; len -= 255)
                    {
                        w.Put(255);
                    }

                    w.Put((byte)len);
                    w.Put((byte)distance);
                }
            }
            else
            {
                distance -= MaxDistance;
                if (len < 7)
                {
                    w.Put((byte)((len << 5) + 31));
                }
                else
                {
                    w.Put((7 << 5) + 31);
                    for (len -= 7; len >= 255; len -= 255)
                    {
                        w.Put(255);
                    }

                    w.Put((byte)len);
                }

                w.Put(255);
                w.Put((byte)(distance >> 8));
                w.Put((byte)distance);
            }

            // Update the hash at the match boundary.
            if (oneByte || ip > anchor)
            {
                Unsafe.Add(ref hashRef, (nint)(TPixel.Hash(ref src, ip) & HashMask)) = ip;
            }

            ip++;
            if (TPixel.Kind != 2 || ip > anchor)
            {
                Unsafe.Add(ref hashRef, (nint)(TPixel.Hash(ref src, ip) & HashMask)) = ip;
            }

            ip++;
            w.PutCopyCount(MaxCopy - 1);
            continue;

        Literal:
            TPixel.Emit(ref w, ref src, anchor);
            anchor++;
            ip = anchor;
            copy++;
            if (copy == MaxCopy)
            {
                copy = 0;
                w.PutCopyCount(MaxCopy - 1);
            }
        }

        // Left-over pixels as literals.
        ipBound++;
        while (ip <= ipBound)
        {
            TPixel.Emit(ref w, ref src, ip);
            ip++;
            copy++;
            if (copy == MaxCopy)
            {
                copy = 0;
                w.PutCopyCount(MaxCopy - 1);
            }
        }

        if (copy != 0)
        {
            w.UpdateCopyCount((byte)(copy - 1));
        }
        else
        {
            w.DropLastCopyCount();
        }
    }
}
