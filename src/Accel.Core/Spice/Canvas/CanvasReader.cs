using System.Buffers.Binary;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>SpiceRect on the wire: top, left, bottom, right.</summary>
internal readonly record struct SpiceRect(int Top, int Left, int Bottom, int Right)
{
    public int Width => Right - Left;

    public int Height => Bottom - Top;

    public bool IsEmpty => Right <= Left || Bottom <= Top;

    public bool SameSize(in SpiceRect other) => Width == other.Width && Height == other.Height;
}

/// <summary>Brush: type 0 NONE, 1 SOLID (color), 2 PATTERN (image pointer, position).</summary>
internal readonly record struct SpiceBrush(byte Type, uint Color, uint Pattern, int X, int Y)
{
    public const byte None = 0;
    public const byte Solid = 1;
    public const byte Pattern_ = 2;
}

/// <summary>QMask: flags (bit0 INVERS), position, pointer to a 1 bpp image (0 = none).</summary>
internal readonly record struct SpiceQMask(byte Flags, int X, int Y, uint Bitmap)
{
    public bool Inverse => (Flags & 1) != 0;
}

/// <summary>DisplayBase: target surface, bounding box and where the clip rectangles are (count 0 = no clip).</summary>
internal readonly record struct DisplayBase(uint SurfaceId, SpiceRect Box, int ClipOffset, int ClipCount, bool HasClip);

/// <summary>
/// Bounds-checked little-endian cursor over a display message body. Every read past the end, and every pointer outside
/// the body, is a <see cref="SpiceProtocolException"/>.
/// </summary>
internal ref struct CanvasReader
{
    private readonly ReadOnlySpan<byte> _body;

    public CanvasReader(ReadOnlySpan<byte> body, int position = 0)
    {
        _body = body;
        Position = position;
    }

    public int Position { get; private set; }

    public readonly ReadOnlySpan<byte> Body => _body;

    public byte U8()
    {
        Need(1);
        return _body[Position++];
    }

    public ushort U16()
    {
        Need(2);
        var v = BinaryPrimitives.ReadUInt16LittleEndian(_body[Position..]);
        Position += 2;
        return v;
    }

    public short I16() => (short)U16();

    public uint U32()
    {
        Need(4);
        var v = BinaryPrimitives.ReadUInt32LittleEndian(_body[Position..]);
        Position += 4;
        return v;
    }

    public int I32() => (int)U32();

    public ulong U64()
    {
        Need(8);
        var v = BinaryPrimitives.ReadUInt64LittleEndian(_body[Position..]);
        Position += 8;
        return v;
    }

    public void Skip(int n)
    {
        Need(n);
        Position += n;
    }

    public ReadOnlySpan<byte> Bytes(long n, string what)
    {
        if (n < 0 || n > _body.Length - Position)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidOffset, $"{what} extends past the display message");
        }

        var s = _body.Slice(Position, (int)n);
        Position += (int)n;
        return s;
    }

    public SpiceRect Rect() => new(I32(), I32(), I32(), I32());

    public DisplayBase Base()
    {
        uint surface = U32();
        var box = Rect();
        byte clip = U8();
        if (clip == 0)
        {
            return new DisplayBase(surface, box, 0, 0, false);
        }

        if (clip != 1)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"clip type {clip}");
        }

        uint n = U32();
        if (n > (uint)(_body.Length - Position) / 16)
        {
            SpiceThrow.Truncated("the clip rectangles of a display message");
        }

        int offset = Position;
        Position += (int)n * 16;
        return new DisplayBase(surface, box, offset, (int)n, true);
    }

    public SpiceBrush Brush()
    {
        byte type = U8();
        return type switch
        {
            SpiceBrush.None => new SpiceBrush(type, 0, 0, 0, 0),
            SpiceBrush.Solid => new SpiceBrush(type, U32(), 0, 0, 0),
            SpiceBrush.Pattern_ => new SpiceBrush(type, 0, U32(), I32(), I32()),
            _ => throw new SpiceProtocolException(SpiceProtocolError.InvalidValue, $"brush type {type}"),
        };
    }

    public SpiceQMask Mask() => new(U8(), I32(), I32(), U32());

    /// <summary>A reader at <paramref name="pointer"/> (an offset from the body start) with at least <paramref name="minimum"/> bytes.</summary>
    public readonly CanvasReader At(uint pointer, int minimum, string what)
    {
        if (pointer == 0 || pointer > (uint)_body.Length || _body.Length - (int)pointer < minimum)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidOffset, $"{what} pointer {pointer} is outside the display message ({_body.Length} bytes)");
        }

        return new CanvasReader(_body, (int)pointer);
    }

    private readonly void Need(int n)
    {
        if (n > _body.Length - Position)
        {
            SpiceThrow.Truncated("a display message");
        }
    }
}
