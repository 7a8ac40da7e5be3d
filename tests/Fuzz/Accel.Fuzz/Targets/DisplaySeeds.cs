using System.Buffers;
using Accel.Core.Spice.Canvas;
using Spice.Codecs;
using Spice.Codecs.Glz;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Fuzz.Targets;

/// <summary>Valid display messages, marshalled as spice-server does, with images in every encoding the product writes.</summary>
internal static class DisplaySeeds
{
    private const int RopPut = 1 << 3;

    private static readonly ushort[] s_drawTypes =
    [
        DrawTypes.Fill, DrawTypes.Opaque, DrawTypes.Copy, DrawTypes.Blend, DrawTypes.Blackness, DrawTypes.Whiteness, DrawTypes.Invers,
        DrawTypes.Rop3, DrawTypes.Stroke, DrawTypes.Text, DrawTypes.Transparent, DrawTypes.AlphaBlend, DrawTypes.Composite,
    ];

    /// <summary>SURFACE_CREATE of the 64x64 primary surface 0.</summary>
    public static byte[] Primary { get; } = B.SurfaceCreate(0, 64, 64);

    /// <summary>STREAM_CREATE of MJPEG stream 0 on surface 0, 16x16 at (8, 8), no clip.</summary>
    public static byte[] StreamCreateBody { get; } =
        new B().U32(0).U32(0).U8(0).U8(1).U32(0).U32(0).U32(16).U32(16).U32(16).U32(16).Rect(8, 8, 24, 24).U8(0).Build();

    /// <summary>The draw type a selector byte names (the targets take any byte).</summary>
    public static ushort DrawType(byte selector) => s_drawTypes[selector % s_drawTypes.Length];

    public static IEnumerable<byte[]> DrawWithSelector()
    {
        for (int i = 0; i < s_drawTypes.Length; i++)
        {
            foreach (var body in Draws(s_drawTypes[i]))
            {
                yield return [(byte)i, .. body];
            }
        }
    }

    public static IEnumerable<byte[]> Transcoder()
    {
        int codec = 0;
        foreach (int i in new[] { 1, 2, 3, 7, 10, 11 })
        {
            foreach (var body in Draws(s_drawTypes[i]))
            {
                yield return [(byte)(codec++ % 6), (byte)i, .. body];
            }
        }
    }

    public static IEnumerable<byte[]> ForType(ushort type) => type switch
    {
        314 => [B.SurfaceCreate(1, 32, 16, flags: 0), Primary],
        315 => [[0, 0, 0, 0]],
        104 => [new B().Base(0, 0, 2, 16, 10).I32(0).I32(0).Build()],
        105 => [new B().U16(2).U8(1).Bytes(BitConverter.GetBytes(7UL)).U8(1).Bytes(BitConverter.GetBytes(9UL)).Build()],
        107 => [BitConverter.GetBytes(3UL)],
        122 => [StreamCreateBody],
        123 => [new B().U32(0).U32(0).U32((uint)Jpeg16.Length).Bytes(Jpeg16).Build()],
        124 => [new B().U32(0).U8(1).U32(1).Rect(8, 8, 16, 16).Build()],
        125 => [[0, 0, 0, 0]],
        316 => [new B().U32(0).U32(0).U32(16).U32(16).Rect(0, 0, 16, 16).U32((uint)Jpeg16.Length).Bytes(Jpeg16).Build()],
        _ => Draws(type),
    };

    public static IEnumerable<byte[]> Sequences()
    {
        var records = new List<byte>();
        foreach (var type in s_drawTypes)
        {
            var body = Draws(type).First();
            records.AddRange(BitConverter.GetBytes(type));
            records.AddRange(BitConverter.GetBytes((ushort)body.Length));
            records.AddRange(body);
        }

        yield return [.. records];
        yield return [.. Record(122, StreamCreateBody), .. Record(123, ForType(123).First()), .. Record(104, ForType(104).First()), .. Record(125, [0, 0, 0, 0])];
    }

    private static byte[] Record(ushort type, byte[] body) => [.. BitConverter.GetBytes(type), .. BitConverter.GetBytes((ushort)body.Length), .. body];

    private static byte[] Jpeg16 { get; } = Payload(SpiceImageType.Jpeg)[4..];

    private static IEnumerable<byte[]> Draws(ushort type)
    {
        switch (type)
        {
            case DrawTypes.Fill:
                yield return new B().Base(0, 2, 2, 10, 10, (0, 0, 5, 16)).U8(1).U32(0x112233).U16(RopPut).NoMask().Build();
                yield return new B().Base(0, 0, 0, 16, 16).U8(2).Pointer(Image(SpiceImageType.Bitmap)).I32(0).I32(0).U16(RopPut).Mask(B.Mask1(16, 16, (x, y) => x > y)).Build();
                break;
            case DrawTypes.Opaque:
                yield return new B().Base(0, 0, 0, 16, 16).Pointer(Image(SpiceImageType.Quic)).Rect(0, 0, 16, 16).U8(1).U32(0xFF).U16(RopPut).U8(0).NoMask().Build();
                break;
            case DrawTypes.Copy:
            case DrawTypes.Blend:
                foreach (var image in Images())
                {
                    yield return new B().Base(0, 4, 4, 20, 20).Pointer(image).Rect(0, 0, 16, 16).U16(RopPut).U8(0).NoMask().Build();
                }

                yield return new B().Base(0, 0, 0, 16, 16).Pointer(B.FromCache(1, 16, 16)).Rect(0, 0, 16, 16).U16(RopPut).U8(0).NoMask().Build();
                yield return new B().Base(0, 0, 0, 16, 16).Pointer(B.Surface(0, 64, 64)).Rect(0, 0, 16, 16).U16(RopPut).U8(0).NoMask().Build();
                break;
            case DrawTypes.Rop3:
                yield return new B().Base(0, 0, 0, 16, 16).Pointer(Image(SpiceImageType.LzRgb)).Rect(0, 0, 16, 16).U8(1).U32(0xFF00).U8(0xCA).U8(0).NoMask().Build();
                break;
            case DrawTypes.Stroke:
            {
                var path = new B().U32(1).U8(3).U32(3).I32(16).I32(16).I32(300).I32(200).I32(600).I32(16).Build();
                yield return new B().Base(0, 0, 0, 64, 64).Pointer(path).U8(0).U8(1).U32(0xFF).U16(RopPut).U16(RopPut).Build();
                yield return new B().Base(0, 0, 0, 64, 64).Pointer(path).U8(8).U8(2).Pointer(new B().I32(3 << 4).I32(2 << 4).Build()).U8(1).U32(0xFF).U16(RopPut).U16(RopPut).Build();
                break;
            }

            case DrawTypes.Text:
            {
                var glyphs = new B().U16(2).U8(1).I32(3).I32(4).I32(0).I32(0).U16(10).U16(2).Bytes([0x80, 0x40, 0xC0, 0])
                    .I32(14).I32(4).I32(0).I32(0).U16(8).U16(1).Bytes([0xFF]).Build();
                yield return new B().Base(0, 0, 0, 32, 32).Pointer(glyphs).Rect(0, 0, 0, 0).U8(1).U32(0xFF8800).U8(1).U32(0).U16(RopPut).U16(RopPut).Build();
                break;
            }

            case DrawTypes.Transparent:
                yield return new B().Base(0, 0, 0, 16, 16).Pointer(Image(SpiceImageType.Lz4)).Rect(0, 0, 16, 16).U32(0xFF00FF).U32(0xFF00FF).Build();
                break;
            case DrawTypes.AlphaBlend:
                yield return new B().Base(0, 0, 0, 16, 16).U8(1).U8(0x80).Pointer(Image(SpiceImageType.JpegAlpha)).Rect(0, 0, 16, 16).Build();
                break;
            case DrawTypes.Composite:
                yield return new B().Base(0, 0, 0, 16, 16).U32(3).Pointer(Image(SpiceImageType.Bitmap)).U32(0).U32(0).Build();
                break;
            default: // BLACKNESS, WHITENESS, INVERS
                yield return new B().Base(0, 1, 1, 9, 9).NoMask().Build();
                yield return new B().Base(0, 0, 0, 16, 16).Mask(B.Mask1(16, 16, (x, y) => (x ^ y) % 3 == 0), invert: true).Build();
                break;
        }
    }

    private static IEnumerable<byte[]> Images() =>
        [Image(SpiceImageType.Bitmap), Image(SpiceImageType.Quic), Image(SpiceImageType.LzRgb), Image(SpiceImageType.GlzRgb),
         Image(SpiceImageType.ZlibGlzRgb), Image(SpiceImageType.Jpeg), Image(SpiceImageType.JpegAlpha), Image(SpiceImageType.Lz4)];

    /// <summary>A 16x16 image descriptor of <paramref name="type"/> and its payload.</summary>
    public static byte[] Image(SpiceImageType type)
    {
        if (type == SpiceImageType.Bitmap)
        {
            return B.Bitmap32(5, 16, 16, (x, y) => (uint)((x * 16) << 16 | (y * 16) << 8 | ((x + y) * 8)));
        }

        var payload = Payload(type, out var actual);
        return [.. new B().Bytes(BitConverter.GetBytes(11UL)).U8((int)actual).U8(0).U32(16).U32(16).Build(), .. payload];
    }

    /// <summary>The payload (after the descriptor) of a 16x16 gradient with alpha, encoded as <paramref name="type"/>.</summary>
    public static byte[] Payload(SpiceImageType type, int width = 16, int height = 16) => Payload(type, out _, width, height);

    private static byte[] Payload(SpiceImageType type, out SpiceImageType actual, int width = 16, int height = 16)
    {
        var pixels = Pixels(width, height);
        var bitmap = new BitmapDescriptor(width, height, width * 4, type == SpiceImageType.JpegAlpha ? SpiceBitmapFormat.Rgba : SpiceBitmapFormat.ThirtyTwoBit);
        var destination = new byte[SpiceImageEncoder.GetMaxPayloadLength(type, width, height, bitmap.Format)];
        using var dictionary = new GlzEncoderDictionary();
        var status = SpiceImageEncoder.Encode(type, pixels, bitmap, destination, out int written, out actual, dictionary);
        return status == OperationStatus.Done ? destination[..written] : throw new InvalidOperationException($"{type}: {status}");
    }

    /// <summary>BGRA pixels with gradients, a flat area and noise (every codec has work to do).</summary>
    public static byte[] Pixels(int width, int height)
    {
        var pixels = new byte[width * height * 4];
        var random = new Random(width * 31 + height);
        for (int i = 0; i < width * height; i++)
        {
            int x = i % width, y = i / width;
            pixels[i * 4] = (byte)(x * 255 / width);
            pixels[(i * 4) + 1] = y < height / 2 ? (byte)0x80 : (byte)random.Next(256);
            pixels[(i * 4) + 2] = (byte)(y * 255 / height);
            pixels[(i * 4) + 3] = (byte)(255 - x);
        }

        return pixels;
    }
}
