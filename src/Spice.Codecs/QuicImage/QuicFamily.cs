namespace Spice.Codecs.QuicImage;

/// <summary>
/// The Golomb-Rice code family and bucket layout for one bit depth (8 or 5 bits per channel),
/// built from the definitions in the SFALIC paper / SPICE brief §5.1 (code-length limit 26, evolution mode 3).
/// </summary>
internal sealed class QuicFamily
{
    public const int MaxCodeLength = 26;

    public static readonly QuicFamily Bpc8 = new(8);
    public static readonly QuicFamily Bpc5 = new(5);

    private QuicFamily(int bpc)
    {
        Bpc = bpc;
        Mask = (1 << bpc) - 1;
        for (int k = 0; k < bpc; k++)
        {
            int alt = Math.Min(MaxCodeLength - bpc, (1 << (bpc - k)) - 1);
            int ngr = alt << k;
            int suffix = CeilLog2((1 << bpc) - ngr);
            Decode[k] = (uint)alt | (uint)(alt + suffix) << 8 | (uint)ngr << 16;
            for (int n = 0; n < 256; n++)
            {
                if (n < ngr)
                {
                    Code[(n << 3) | k] = (uint)((1 << k) | (n & ((1 << k) - 1))) | (uint)((n >> k) + k + 1) << 24;
                    CodeLength[(n << 3) | k] = (byte)((n >> k) + k + 1);
                }
                else
                {
                    Code[(n << 3) | k] = (uint)(n - ngr) | (uint)(alt + suffix) << 24;
                    CodeLength[(n << 3) | k] = (byte)(alt + suffix);
                }
            }
        }

        for (int s = 0; s <= Mask; s++)
        {
            U2L[s] = (byte)(s <= Mask >> 1 ? s << 1 : ((Mask - s) << 1) + 1);
            L2U[s] = (byte)((s & 1) != 0 ? Mask - (s >> 1) : s >> 1);
        }

        // Buckets of sizes 1, 2, 4, ... (evolution mode 3); the last one absorbs a too-small successor.
        int levels = 1 << bpc;
        int bucket = 0;
        int start = 0;
        int size = 1;
        int repeat = 2;
        int end;
        do
        {
            if (--repeat == 0)
            {
                repeat = 1;
                size *= 2;
            }

            end = start + size - 1;
            if (end + size >= levels)
            {
                end = levels - 1;
            }

            for (int i = start; i <= end; i++)
            {
                BucketOf[i] = (byte)bucket;
            }

            BucketFirst[bucket] = (byte)start;
            BucketLast[bucket] = (byte)end;

            bucket++;
            start = end + 1;
        }
        while (end < levels - 1);

        BucketCount = bucket;
    }

    public int Bpc { get; }

    public int Mask { get; }

    public int BucketCount { get; }

    /// <summary>Context (0..2^bpc−1) → bucket number.</summary>
    public byte[] BucketOf { get; } = new byte[256];

    /// <summary>First and last context of each bucket.</summary>
    public byte[] BucketFirst { get; } = new byte[8];

    public byte[] BucketLast { get; } = new byte[8];

    /// <summary>Decoder parameters of code k: prefix limit (bits 0..7), escape code length (8..15), GR codewords (16..31).</summary>
    public uint[] Decode { get; } = new uint[8];

    /// <summary>
    /// Codeword of value n with code k at [n × 8 + k] in bits 0..23 (the implicit leading zeros are not part of it),
    /// its length in bits 24..31.
    /// </summary>
    public uint[] Code { get; } = new uint[256 * 8];

    public byte[] CodeLength { get; } = new byte[256 * 8];

    public byte[] U2L { get; } = new byte[256];

    public byte[] L2U { get; } = new byte[256];

    private static int CeilLog2(int val)
    {
        if (val == 1)
        {
            return 0;
        }

        int result = 1;
        val -= 1;
        while ((val >>= 1) != 0)
        {
            result++;
        }

        return result;
    }
}
