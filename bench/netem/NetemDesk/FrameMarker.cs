namespace NetemDesk;

/// <summary>
/// The in-frame marker: a strip of 18 × 2 solid black or white blocks of 16×16 pixels drawn into each frame, read back
/// from the client's picture. It carries the time the frame was drawn ((unix ms / 4) mod 2^20, so it wraps every
/// ~70 min) and a 4-bit tag (the slideshow's photo number), protected by a CRC-8. Luminance only and blocks of a JPEG
/// macroblock's size, so it survives JPEG at quality 30 with 4:2:0 chroma wherever the encoder's blocks fall; the
/// first and last column are a fixed check pattern and every block is sampled in its four quarters, which must agree,
/// so a strip drawn half over the previous one (a frame still arriving) or garbled does not decode.
/// </summary>
public static class FrameMarker
{
    public const int Block = 16;
    public const int Columns = 18;
    public const int Rows = 2;
    public const int Width = Columns * Block;
    public const int Height = Rows * Block;

    private const int DataColumns = Columns - 2;
    private const int CodeBits = 20;
    private const long CodeUnits = 1L << CodeBits;
    private const long UnitMs = 4;
    private const uint White = 0xFFFFFF;
    private const int DarkBelow = 80;
    private const int LightAbove = 175;

    /// <summary>The time code of <paramref name="unixMs"/>: units of 4 ms, mod 2^20.</summary>
    public static uint TimeCode(long unixMs) => (uint)((unixMs / UnitMs) & (CodeUnits - 1));

    /// <summary>The moment a time code stands for, in ms of its own 70-minute cycle (what the animation's motion follows).</summary>
    public static long CodeMs(uint code) => (code & (CodeUnits - 1)) * UnitMs;

    /// <summary>
    /// When a frame with <paramref name="code"/> was drawn, as unix ms, seen at <paramref name="nowUnixMs"/>; null when it
    /// cannot be a recent frame (from the future, or older than half the wrap).
    /// </summary>
    public static long? DrawnUnixMs(uint code, long nowUnixMs)
    {
        var now = nowUnixMs / UnitMs;
        var age = ((now & (CodeUnits - 1)) - (code & (CodeUnits - 1)) + CodeUnits) % CodeUnits;
        return age > CodeUnits / 2 ? null : (now - age) * UnitMs;
    }

    /// <summary>Draws the strip with its top-left at (<paramref name="x"/>, <paramref name="y"/>) into 0x00RRGGBB pixels of <paramref name="stride"/> pixels a row.</summary>
    public static void Stamp(Span<uint> pixels, int stride, int x, int y, uint code, int tag)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tag);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(tag, 15);
        CheckBounds(pixels.Length, stride, x, y);
        var word = Payload(code, tag);
        for (var row = 0; row < Rows; row++)
        {
            for (var col = 0; col < Columns; col++)
            {
                var color = BlockIsWhite(word, row, col) ? White : 0u;
                for (var py = 0; py < Block; py++)
                {
                    pixels.Slice(((y + (row * Block) + py) * stride) + x + (col * Block), Block).Fill(color);
                }
            }
        }
    }

    /// <summary>Reads the strip at (<paramref name="x"/>, <paramref name="y"/>); false when it is not a complete, intact marker.</summary>
    public static bool TryRead(ReadOnlySpan<uint> pixels, int stride, int x, int y, out uint code, out int tag)
    {
        code = 0;
        tag = 0;
        CheckBounds(pixels.Length, stride, x, y);
        uint word = 0;
        for (var row = 0; row < Rows; row++)
        {
            for (var col = 0; col < Columns; col++)
            {
                var white = ReadBlock(pixels, stride, x + (col * Block), y + (row * Block));
                if (white is not { } w)
                {
                    return false;
                }

                if (col == 0 || col == Columns - 1)
                {
                    // Check pattern: white-black on the first row, black-white on the second.
                    if (w != ((row == 0) == (col == 0)))
                    {
                        return false;
                    }
                }
                else if (w)
                {
                    word |= 1u << ((row * DataColumns) + col - 1);
                }
            }
        }

        if (Crc8(word & 0xFFFFFF) != word >> 24)
        {
            return false;
        }

        code = word & (uint)(CodeUnits - 1);
        tag = (int)(word >> CodeBits) & 0xF;
        return true;
    }

    private static uint Payload(uint code, int tag)
    {
        var data = (code & (uint)(CodeUnits - 1)) | ((uint)tag << CodeBits);
        return data | ((uint)Crc8(data) << 24);
    }

    private static bool BlockIsWhite(uint word, int row, int col) =>
        col == 0 || col == Columns - 1 ? (row == 0) == (col == 0) : ((word >> ((row * DataColumns) + col - 1)) & 1) != 0;

    /// <summary>True (white) or false (black) when all four quarters of the block are clearly one of them; null otherwise.</summary>
    private static bool? ReadBlock(ReadOnlySpan<uint> pixels, int stride, int bx, int by)
    {
        bool? seen = null;
        for (var q = 0; q < 4; q++)
        {
            // The 4×4 centre of each 8×8 quarter: away from the block's edges, where JPEG rings.
            int qx = bx + ((q & 1) * 8) + 2, qy = by + ((q >> 1) * 8) + 2;
            var sum = 0;
            for (var py = 0; py < 4; py++)
            {
                foreach (var p in pixels.Slice(((qy + py) * stride) + qx, 4))
                {
                    sum += Luma(p);
                }
            }

            var mean = sum / 16;
            bool white;
            if (mean > LightAbove)
            {
                white = true;
            }
            else if (mean < DarkBelow)
            {
                white = false;
            }
            else
            {
                return null;
            }

            if (seen is { } s && s != white)
            {
                return null;
            }

            seen = white;
        }

        return seen;
    }

    /// <summary>BT.601 luma of 0x00RRGGBB, 0–255.</summary>
    public static int Luma(uint p) => (int)((((p >> 16) & 0xFF) * 77) + (((p >> 8) & 0xFF) * 150) + ((p & 0xFF) * 29)) >> 8;

    private static byte Crc8(uint data)
    {
        // CRC-8 (polynomial x^8 + x^2 + x + 1) over the three payload bytes.
        byte crc = 0;
        for (var i = 0; i < 3; i++)
        {
            crc ^= (byte)(data >> (8 * i));
            for (var b = 0; b < 8; b++)
            {
                crc = (byte)((crc & 0x80) != 0 ? (crc << 1) ^ 0x07 : crc << 1);
            }
        }

        return crc;
    }

    private static void CheckBounds(int length, int stride, int x, int y)
    {
        if (x < 0 || y < 0 || x + Width > stride || (long)(y + Height) * stride > length)
        {
            throw new ArgumentOutOfRangeException(nameof(x), $"the marker at ({x}, {y}) does not fit {stride} pixels × {length / Math.Max(1, stride)} rows");
        }
    }
}
