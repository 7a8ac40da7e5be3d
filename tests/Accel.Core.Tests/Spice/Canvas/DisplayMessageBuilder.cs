using System.Buffers.Binary;

namespace Accel.Core.Tests.Spice.Canvas;

/// <summary>Builds display message bodies as spice-server marshals them: fixed part first, pointed-to data after it.</summary>
internal sealed class DisplayMessageBuilder
{
    private readonly List<byte> _fixed = [];
    private readonly List<(int Slot, byte[] Data)> _tail = [];

    public DisplayMessageBuilder U8(int v)
    {
        _fixed.Add((byte)v);
        return this;
    }

    public DisplayMessageBuilder U16(int v) => Bytes(BitConverter.GetBytes((ushort)v));

    public DisplayMessageBuilder U32(uint v) => Bytes(BitConverter.GetBytes(v));

    public DisplayMessageBuilder I32(int v) => Bytes(BitConverter.GetBytes(v));

    public DisplayMessageBuilder Bytes(byte[] b)
    {
        _fixed.AddRange(b);
        return this;
    }

    /// <summary>SpiceRect: top, left, bottom, right.</summary>
    public DisplayMessageBuilder Rect(int left, int top, int right, int bottom) => I32(top).I32(left).I32(bottom).I32(right);

    /// <summary>DisplayBase with optional clip rectangles (left, top, right, bottom).</summary>
    public DisplayMessageBuilder Base(uint surface, int left, int top, int right, int bottom, params (int L, int T, int R, int B)[] clip)
    {
        U32(surface).Rect(left, top, right, bottom);
        if (clip.Length == 0)
        {
            return U8(0);
        }

        U8(1).U32((uint)clip.Length);
        foreach (var c in clip)
        {
            Rect(c.L, c.T, c.R, c.B);
        }

        return this;
    }

    /// <summary>A pointer to <paramref name="data"/>, placed after the fixed part; null data writes a 0 pointer.</summary>
    public DisplayMessageBuilder Pointer(byte[]? data)
    {
        if (data is not null)
        {
            _tail.Add((_fixed.Count, data));
        }

        return U32(0);
    }

    public DisplayMessageBuilder NoMask() => U8(0).I32(0).I32(0).U32(0);

    public DisplayMessageBuilder Mask(byte[] image, bool invert = false, int x = 0, int y = 0) => U8(invert ? 1 : 0).I32(x).I32(y).Pointer(image);

    public byte[] Build()
    {
        var body = new List<byte>(_fixed);
        var result = body.ToArray();
        foreach (var (slot, data) in _tail)
        {
            int at = body.Count;
            body.AddRange(data);
            result = body.ToArray();
            BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(slot), (uint)at);
            body = [.. result];
        }

        return body.ToArray();
    }

    /// <summary>A top-down 32BIT BITMAP image (descriptor + payload) of BGRX pixels 0xRRGGBB.</summary>
    public static byte[] Bitmap32(ulong id, int width, int height, Func<int, int, uint> pixel, byte descriptorFlags = 0, byte type = 0)
    {
        var b = new List<byte>();
        b.AddRange(BitConverter.GetBytes(id));
        b.Add(type);
        b.Add(descriptorFlags);
        b.AddRange(BitConverter.GetBytes((uint)width));
        b.AddRange(BitConverter.GetBytes((uint)height));
        b.Add(8); // 32BIT
        b.Add(4); // TOP_DOWN
        b.AddRange(BitConverter.GetBytes((uint)width));
        b.AddRange(BitConverter.GetBytes((uint)height));
        b.AddRange(BitConverter.GetBytes((uint)width * 4));
        b.AddRange(BitConverter.GetBytes(0u)); // no palette
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                b.AddRange(BitConverter.GetBytes(pixel(x, y)));
            }
        }

        return b.ToArray();
    }

    /// <summary>A FROM_CACHE (or FROM_CACHE_LOSSLESS) reference.</summary>
    public static byte[] FromCache(ulong id, int width, int height, bool lossless = false)
    {
        var b = new List<byte>();
        b.AddRange(BitConverter.GetBytes(id));
        b.Add(lossless ? (byte)106 : (byte)103);
        b.Add(0);
        b.AddRange(BitConverter.GetBytes((uint)width));
        b.AddRange(BitConverter.GetBytes((uint)height));
        return b.ToArray();
    }

    /// <summary>A SURFACE image.</summary>
    public static byte[] Surface(uint surface, int width, int height)
    {
        var b = new List<byte>(FromCache(0, width, height)) { [8] = 104 };
        b.AddRange(BitConverter.GetBytes(surface));
        return b.ToArray();
    }

    /// <summary>A top-down 1BIT_LE mask BITMAP; bit set where <paramref name="set"/>.</summary>
    public static byte[] Mask1(int width, int height, Func<int, int, bool> set)
    {
        int stride = (width + 7) / 8;
        var b = new List<byte>();
        b.AddRange(BitConverter.GetBytes(7UL));
        b.Add(0);
        b.Add(0);
        b.AddRange(BitConverter.GetBytes((uint)width));
        b.AddRange(BitConverter.GetBytes((uint)height));
        b.Add(1);
        b.Add(4);
        b.AddRange(BitConverter.GetBytes((uint)width));
        b.AddRange(BitConverter.GetBytes((uint)height));
        b.AddRange(BitConverter.GetBytes((uint)stride));
        b.AddRange(BitConverter.GetBytes(0u));
        for (int y = 0; y < height; y++)
        {
            var row = new byte[stride];
            for (int x = 0; x < width; x++)
            {
                if (set(x, y))
                {
                    row[x / 8] |= (byte)(1 << (x % 8));
                }
            }

            b.AddRange(row);
        }

        return b.ToArray();
    }

    public static byte[] SurfaceCreate(uint id, int width, int height, uint format = 32, uint flags = 1) =>
        new DisplayMessageBuilder().U32(id).U32((uint)width).U32((uint)height).U32(format).U32(flags).Build();
}
