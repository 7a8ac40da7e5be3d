using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice;
using Accel.Core.Spice.Display;
using Spice.Codecs;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice.Display;

/// <summary>Builds draw-message bodies the way spice-server marshals them: fixed part, then out-of-line data.</summary>
internal static class DrawMessages
{
    /// <summary>DRAW_COPY with 2 clip rectangles, the image at the end and an optional palette between (to move offsets).</summary>
    public static byte[] Copy(byte[] image, int gapBefore = 0, ushort rop = DisplayDrawMessage.RopPut)
    {
        var w = new ArrayBufferWriter<byte>();
        Base(w, rects: 2);
        int srcSlot = w.WrittenCount;
        U32(w, 0);
        Zero(w, 16);
        U16(w, rop);
        w.Write<byte>([1]); // scale
        Zero(w, 1 + 8); // QMask flags, pos
        U32(w, 0);      // no mask
        Zero(w, gapBefore);
        int imageAt = w.WrittenCount;
        w.Write<byte>(image);
        var body = w.WrittenSpan.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(srcSlot), (uint)imageAt);
        return body;
    }

    /// <summary>DRAW_FILL with a PATTERN brush pointing to <paramref name="image"/>.</summary>
    public static byte[] FillPattern(byte[] image)
    {
        var w = new ArrayBufferWriter<byte>();
        Base(w, rects: 0);
        w.Write<byte>([2]);
        int slot = w.WrittenCount;
        U32(w, 0);
        Zero(w, 8);
        U16(w, DisplayDrawMessage.RopPut);
        Zero(w, 1 + 8);
        U32(w, 0);
        int at = w.WrittenCount;
        w.Write<byte>(image);
        var body = w.WrittenSpan.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(slot), (uint)at);
        return body;
    }

    /// <summary>DRAW_STROKE: a 2-segment path, a styled line (3 segments), a PATTERN brush; blocks in reverse order with gaps.</summary>
    public static byte[] Stroke(byte[] pattern)
    {
        var w = new ArrayBufferWriter<byte>();
        Base(w, rects: 1);
        int pathSlot = w.WrittenCount;
        U32(w, 0);
        w.Write<byte>([8, 3]); // STYLED, 3 segments
        int styleSlot = w.WrittenCount;
        U32(w, 0);
        w.Write<byte>([2]);
        int brushSlot = w.WrittenCount;
        U32(w, 0);
        Zero(w, 8);
        U16(w, 1);
        U16(w, 2);
        int brushAt = w.WrittenCount;
        w.Write<byte>(pattern);
        Zero(w, 3);
        int styleAt = w.WrittenCount;
        U32(w, 16);
        U32(w, 32);
        U32(w, 48);
        int pathAt = w.WrittenCount;
        U32(w, 2);
        w.Write<byte>([1]);
        U32(w, 1);
        Zero(w, 8);
        w.Write<byte>([2]);
        U32(w, 2);
        Zero(w, 16);
        var body = w.WrittenSpan.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(pathSlot), (uint)pathAt);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(styleSlot), (uint)styleAt);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(brushSlot), (uint)brushAt);
        return body;
    }

    /// <summary>DRAW_TEXT: two A1 glyphs (9×2 and 3×1), solid fore brush, no back brush.</summary>
    public static byte[] Text()
    {
        var w = new ArrayBufferWriter<byte>();
        Base(w, rects: 0);
        int slot = w.WrittenCount;
        U32(w, 0);
        Zero(w, 16);
        w.Write<byte>([1]);
        U32(w, 0xFFFFFF);
        w.Write<byte>([0]);
        U16(w, 1);
        U16(w, 1);
        int at = w.WrittenCount;
        U16(w, 2);
        w.Write<byte>([1 | 8]);
        Zero(w, 16);
        U16(w, 9);
        U16(w, 2);
        Zero(w, 4);
        Zero(w, 16);
        U16(w, 3);
        U16(w, 1);
        Zero(w, 1);
        var body = w.WrittenSpan.ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(slot), (uint)at);
        return body;
    }

    public static byte[] Image(ulong id, SpiceImageType type, byte flags, int width, int height, ReadOnlySpan<byte> payload)
    {
        var image = new byte[SpiceImageDescriptor.Size + payload.Length];
        new SpiceImageDescriptor(id, type, flags, (uint)width, (uint)height).Write(image);
        payload.CopyTo(image.AsSpan(SpiceImageDescriptor.Size));
        return image;
    }

    /// <summary>A top-down 32-bit BITMAP payload with no palette.</summary>
    public static byte[] BitmapPayload(ReadOnlySpan<byte> pixels, int width, int height)
    {
        var p = new byte[18 + pixels.Length];
        p[0] = (byte)SpiceBitmapFormat.ThirtyTwoBit;
        p[1] = 4;
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(2), (uint)width);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(6), (uint)height);
        BinaryPrimitives.WriteUInt32LittleEndian(p.AsSpan(10), (uint)width * 4);
        pixels.CopyTo(p.AsSpan(18));
        return p;
    }

    public static byte[] Pixels(int width, int height, bool photo)
    {
        var p = new byte[width * height * 4];
        var random = new Random(width * 31 + height);
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = (y * width + x) * 4;
                p[i] = (byte)(photo ? x * 3 + random.Next(4) : (x / 8 % 2) * 200);
                p[i + 1] = (byte)(photo ? y * 2 + random.Next(4) : 30);
                p[i + 2] = (byte)(photo ? x + y : (y / 8 % 2) * 90);
            }
        }

        return p;
    }

    private static void Base(ArrayBufferWriter<byte> w, int rects)
    {
        U32(w, 0);
        Zero(w, 16);
        if (rects == 0)
        {
            w.Write<byte>([0]);
            return;
        }

        w.Write<byte>([1]);
        U32(w, (uint)rects);
        Zero(w, rects * 16);
    }

    private static void U32(ArrayBufferWriter<byte> w, uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(w.GetSpan(4), v);
        w.Advance(4);
    }

    private static void U16(ArrayBufferWriter<byte> w, ushort v)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(w.GetSpan(2), v);
        w.Advance(2);
    }

    private static void Zero(ArrayBufferWriter<byte> w, int n)
    {
        w.GetSpan(n)[..n].Clear();
        w.Advance(n);
    }
}

public sealed class DisplayDrawMessageTests
{
    [Fact]
    public void TryParse_DrawCopyWithClipRects_FindsImageAndDescriptor()
    {
        var pixels = DrawMessages.Pixels(16, 8, photo: false);
        var image = DrawMessages.Image(42, SpiceImageType.Bitmap, SpiceImageDescriptor.CacheMe, 16, 8, DrawMessages.BitmapPayload(pixels, 16, 8));
        var body = DrawMessages.Copy(image, gapBefore: 5);

        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, body, out var message));

        Assert.Equal(21 + 4 + 32 + 4 + 16 + 2 + 1 + 13, message.FixedLength);
        Assert.Equal(1, message.Count);
        Assert.False(message.HasMask);
        Assert.Equal(DisplayDrawMessage.RopPut, message.Rop);
        var found = message[0];
        Assert.Equal(DisplayImageRole.Source, found.Role);
        Assert.Equal(new SpiceImageDescriptor(42, SpiceImageType.Bitmap, SpiceImageDescriptor.CacheMe, 16, 8), found.Descriptor);
        Assert.Equal(image.Length, found.Length);
        Assert.Equal(body.Length - image.Length, found.Offset);
    }

    [Fact]
    public void Write_NoReplacement_RemovesGapAndKeepsImageBytes()
    {
        var image = DrawMessages.Image(7, SpiceImageType.Quic, 0, 4, 4, [12, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        var body = DrawMessages.Copy(image, gapBefore: 9);
        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, body, out var message));

        var output = new ArrayBufferWriter<byte>();
        message.Write(body, [], [], output);

        Assert.Equal(DrawMessages.Copy(image), output.WrittenSpan.ToArray());
        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, output.WrittenSpan, out var again));
        Assert.Equal(message[0].Descriptor, again[0].Descriptor);
    }

    [Fact]
    public void Write_ReplacedImage_PointerAndDescriptorRecomputed()
    {
        var image = DrawMessages.Image(7, SpiceImageType.Quic, 0, 4, 4, [4, 0, 0, 0, 1, 2, 3, 4]);
        var body = DrawMessages.Copy(image, gapBefore: 3);
        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, body, out var message));
        byte[] payload = [9, 9, 4, 0, 0, 0, 5, 6, 7, 8];
        var replacement = new DisplayImageReplacement(true, message[0].Descriptor with { Type = SpiceImageType.Lz4 }, 2, 8);

        var output = new ArrayBufferWriter<byte>();
        message.Write(body, [replacement], payload, output);

        Assert.Equal(message.GetWrittenLength([replacement]), output.WrittenCount);
        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, output.WrittenSpan, out var rewritten));
        Assert.Equal(SpiceImageType.Lz4, rewritten[0].Descriptor.Type);
        Assert.Equal(7ul, rewritten[0].Descriptor.Id);
        Assert.Equal(message.FixedLength, rewritten[0].Offset);
        Assert.Equal(payload.AsSpan(2, 8).ToArray(), output.WrittenSpan.Slice(rewritten[0].PayloadOffset, rewritten[0].PayloadLength).ToArray());
    }

    [Fact]
    public void TryParse_FillWithPatternBrush_FindsBrushImage()
    {
        var image = DrawMessages.Image(1, SpiceImageType.FromCache, 0, 8, 8, []);
        var body = DrawMessages.FillPattern(image);

        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawFill, body, out var message));

        Assert.Equal(1, message.Count);
        Assert.Equal(DisplayImageRole.Brush, message[0].Role);
        Assert.Equal(SpiceImageType.FromCache, message[0].Descriptor.Type);
    }

    [Fact]
    public void Write_StrokeWithPathStyleAndPattern_RoundTripsInPointerOrder()
    {
        var pixels = DrawMessages.Pixels(4, 4, photo: false);
        var body = DrawMessages.Stroke(DrawMessages.Image(8, SpiceImageType.Bitmap, 0, 4, 4, DrawMessages.BitmapPayload(pixels, 4, 4)));
        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawStroke, body, out var message));
        Assert.Equal(3, message.Count);
        Assert.Equal(DisplayImageRole.Path, message[0].Role);
        Assert.Equal(4 + 5 + 8 + 5 + 16, message[0].Length);
        Assert.Equal(DisplayImageRole.LineStyle, message[1].Role);
        Assert.Equal(12, message[1].Length);
        Assert.Equal(DisplayImageRole.Brush, message[2].Role);

        var output = new ArrayBufferWriter<byte>();
        message.Write(body, [], [], output);

        Assert.Equal(body.Length - 3, output.WrittenCount);
        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawStroke, output.WrittenSpan, out var again));
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(body.AsSpan(message[i].Offset, message[i].Length).ToArray(), output.WrittenSpan.Slice(again[i].Offset, again[i].Length).ToArray());
        }
    }

    [Fact]
    public void TryParse_TextWithA1Glyphs_StringBlockMeasured()
    {
        var body = DrawMessages.Text();

        Assert.True(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawText, body, out var message));

        Assert.Equal(1, message.Count);
        Assert.Equal(DisplayImageRole.Text, message[0].Role);
        Assert.Equal(body.Length - message.FixedLength, message[0].Length);
        Assert.Throws<SpiceProtocolException>(() => DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawText, body.AsSpan(0, body.Length - 1).ToArray(), out _));
    }

    [Fact]
    public void TryParse_UnknownImageType_ReturnsFalse()
    {
        var body = DrawMessages.Copy(DrawMessages.Image(1, (SpiceImageType)2, 0, 1, 1, [0, 0, 0, 0]));

        Assert.False(DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, body, out _));
    }

    [Fact]
    public void TryParse_PointerOutOfRange_ThrowsInvalidOffset()
    {
        var body = DrawMessages.Copy(DrawMessages.Image(1, SpiceImageType.FromCache, 0, 1, 1, []));
        int slot = 21 + 4 + 32;
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(slot), (uint)body.Length - 4);
        var ex = Assert.Throws<SpiceProtocolException>(() => DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, body, out _));
        Assert.Equal(SpiceProtocolError.InvalidOffset, ex.Error);

        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(slot), 10); // inside the fixed part
        ex = Assert.Throws<SpiceProtocolException>(() => DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, body, out _));
        Assert.Equal(SpiceProtocolError.InvalidOffset, ex.Error);
    }

    [Fact]
    public void TryParse_DataSizePastEnd_ThrowsInvalidOffset()
    {
        var body = DrawMessages.Copy(DrawMessages.Image(1, SpiceImageType.Quic, 0, 4, 4, [200, 0, 0, 0, 1, 2]));

        var ex = Assert.Throws<SpiceProtocolException>(() => DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, body, out _));
        Assert.Equal(SpiceProtocolError.InvalidOffset, ex.Error);
    }

    [Fact]
    public void TryParse_EveryTruncation_ThrowsProtocolErrorOnly()
    {
        var pixels = DrawMessages.Pixels(4, 4, photo: false);
        var body = DrawMessages.Copy(DrawMessages.Image(3, SpiceImageType.Bitmap, 0, 4, 4, DrawMessages.BitmapPayload(pixels, 4, 4)));
        for (int n = 0; n < body.Length; n++)
        {
            var cut = body.AsSpan(0, n).ToArray();
            Assert.Throws<SpiceProtocolException>(() => DisplayDrawMessage.TryParse(DisplayDrawMessage.DrawCopy, cut, out _));
        }
    }

    public static TheoryData<ushort> MutatedTypes => [DisplayDrawMessage.DrawCopy, DisplayDrawMessage.DrawStroke, DisplayDrawMessage.DrawText, DisplayDrawMessage.DrawFill];

    [Theory]
    [MemberData(nameof(MutatedTypes))]
    public void TryParse_MutatedMessages_ParseAndRoundTripOrThrowProtocolErrorOnly(ushort type)
    {
        var random = new Random(1234 + type);
        var pixels = DrawMessages.Pixels(4, 4, photo: false);
        var image = DrawMessages.Image(3, SpiceImageType.Bitmap, 0, 4, 4, DrawMessages.BitmapPayload(pixels, 4, 4));
        var original = type switch
        {
            DisplayDrawMessage.DrawCopy => DrawMessages.Copy(image, gapBefore: 4),
            DisplayDrawMessage.DrawStroke => DrawMessages.Stroke(image),
            DisplayDrawMessage.DrawText => DrawMessages.Text(),
            _ => DrawMessages.FillPattern(image),
        };
        int parsed = 0;
        int rejected = 0;
        for (int i = 0; i < 20000; i++)
        {
            var body = original.ToArray();
            for (int k = random.Next(1, 4); k > 0; k--)
            {
                body[random.Next(body.Length)] = (byte)random.Next(256);
            }

            try
            {
                if (DisplayDrawMessage.TryParse(type, body, out var message))
                {
                    var output = new ArrayBufferWriter<byte>();
                    message.Write(body, [], [], output);
                    Assert.True(DisplayDrawMessage.TryParse(type, output.WrittenSpan, out var again));
                    Assert.Equal(message.Count, again.Count);
                    parsed++;
                }
            }
            catch (SpiceProtocolException)
            {
                rejected++;
            }
        }

        Assert.True(parsed > 1000, $"{parsed} parsed");
        Assert.True(rejected > 100, $"{rejected} rejected");
    }
}
