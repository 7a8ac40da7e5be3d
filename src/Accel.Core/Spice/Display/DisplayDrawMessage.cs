using System.Buffers;
using System.Buffers.Binary;
using Spice.Codecs;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Display;

/// <summary>
/// A parsed display draw message that carries images (brief §4.1–§4.3): DRAW_FILL, DRAW_OPAQUE, DRAW_COPY, DRAW_BLEND,
/// DRAW_BLACKNESS/WHITENESS/INVERS, DRAW_ROP3, DRAW_TRANSPARENT and DRAW_ALPHA_BLEND. The fixed part (DisplayBase with
/// its inline clip rectangles, then the type's fields) holds every pointer; pointers are offsets from the body start
/// and must point past the fixed part and inside the body. Every offset and size is checked; a violation is a
/// <see cref="SpiceProtocolException"/>. Image types whose length cannot be known make <see cref="TryParse"/> return
/// false (the caller passes the message through).
/// </summary>
internal struct DisplayDrawMessage
{
    public const ushort DrawFill = 302;
    public const ushort DrawOpaque = 303;
    public const ushort DrawCopy = 304;
    public const ushort DrawBlend = 305;
    public const ushort DrawBlackness = 306;
    public const ushort DrawWhiteness = 307;
    public const ushort DrawInvers = 308;
    public const ushort DrawRop3 = 309;
    public const ushort DrawStroke = 310;
    public const ushort DrawText = 311;
    public const ushort DrawTransparent = 312;
    public const ushort DrawAlphaBlend = 313;
    public const ushort DrawComposite = 318;

    private const uint CompositeHasMask = 1u << 19;
    private const uint CompositeHasSrcTransform = 1u << 20;
    private const uint CompositeHasMaskTransform = 1u << 21;
    private const byte LineStyled = 1 << 3;

    /// <summary>rop_descriptor OP_PUT.</summary>
    public const ushort RopPut = 1 << 3;

    private const byte PalFromCache = 2;

    private DisplayImageRefs _images;
    private int _styleSegments;

    public ushort Type { get; private set; }

    /// <summary>Bytes of the fixed part (everything before out-of-line data).</summary>
    public int FixedLength { get; private set; }

    public int Count { get; private set; }

    /// <summary>rop_descriptor of DRAW_COPY/OPAQUE/BLEND/FILL (0 for other types).</summary>
    public ushort Rop { get; private set; }

    /// <summary>True when the QMask points to a mask image.</summary>
    public bool HasMask { get; private set; }

    public readonly DisplayImageRef this[int index] => (uint)index < (uint)Count ? _images[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public static bool IsDrawWithImages(ushort type) => type is >= DrawFill and <= DrawAlphaBlend or DrawComposite;

    /// <summary>
    /// Parses <paramref name="body"/>. Returns false for messages this parser does not cover or images whose length it
    /// cannot know (unknown image types); throws <see cref="SpiceProtocolException"/> for malformed ones.
    /// </summary>
    public static bool TryParse(ushort type, ReadOnlySpan<byte> body, out DisplayDrawMessage message)
    {
        message = default;
        if (!IsDrawWithImages(type))
        {
            return false;
        }

        message.Type = type;
        var r = new CanvasReader(body);

        // DisplayBase: u32 surface_id, Rect box, Clip.
        r.Skip(4 + 16);
        byte clip = r.U8();
        if (clip == 1)
        {
            uint n = r.U32();
            if (n > (uint)(body.Length - r.Position) / 16)
            {
                SpiceThrow.Truncated("the clip rectangles of a draw message");
            }

            r.Skip((int)n * 16);
        }
        else if (clip != 0)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"clip type {clip} in a draw message");
        }

        Span<int> slots = stackalloc int[DisplayImageRefs.MaxImages];
        Span<DisplayImageRole> roles = stackalloc DisplayImageRole[DisplayImageRefs.MaxImages];
        int count = 0;
        switch (type)
        {
            case DrawFill:
                Brush(ref r, slots, roles, ref count);
                message.Rop = r.U16();
                Mask(ref r, slots, roles, ref count);
                break;
            case DrawOpaque:
                Pointer(ref r, DisplayImageRole.Source, slots, roles, ref count);
                r.Skip(16);
                Brush(ref r, slots, roles, ref count);
                message.Rop = r.U16();
                r.Skip(1);
                Mask(ref r, slots, roles, ref count);
                break;
            case DrawCopy:
            case DrawBlend:
                Pointer(ref r, DisplayImageRole.Source, slots, roles, ref count);
                r.Skip(16);
                message.Rop = r.U16();
                r.Skip(1);
                Mask(ref r, slots, roles, ref count);
                break;
            case DrawRop3:
                Pointer(ref r, DisplayImageRole.Source, slots, roles, ref count);
                r.Skip(16);
                Brush(ref r, slots, roles, ref count);
                r.Skip(2);
                Mask(ref r, slots, roles, ref count);
                break;
            case DrawTransparent:
                Pointer(ref r, DisplayImageRole.Source, slots, roles, ref count);
                r.Skip(16 + 4 + 4);
                break;
            case DrawAlphaBlend:
                r.Skip(2);
                Pointer(ref r, DisplayImageRole.Source, slots, roles, ref count);
                r.Skip(16);
                break;
            case DrawStroke:
                Pointer(ref r, DisplayImageRole.Path, slots, roles, ref count);
                if ((r.U8() & LineStyled) != 0)
                {
                    message._styleSegments = r.U8();
                    Pointer(ref r, DisplayImageRole.LineStyle, slots, roles, ref count);
                }

                Brush(ref r, slots, roles, ref count);
                r.Skip(4);
                break;
            case DrawText:
                Pointer(ref r, DisplayImageRole.Text, slots, roles, ref count);
                r.Skip(16);
                Brush(ref r, slots, roles, ref count);
                Brush(ref r, slots, roles, ref count);
                r.Skip(4);
                break;
            case DrawComposite:
            {
                uint flags = r.U32();
                Pointer(ref r, DisplayImageRole.Source, slots, roles, ref count);
                if ((flags & CompositeHasMask) != 0)
                {
                    Pointer(ref r, DisplayImageRole.Mask, slots, roles, ref count);
                }

                r.Skip(((flags & CompositeHasSrcTransform) != 0 ? 24 : 0) + ((flags & CompositeHasMaskTransform) != 0 ? 24 : 0) + 4 + 4);
                break;
            }
            default: // BLACKNESS, WHITENESS, INVERS
                Mask(ref r, slots, roles, ref count);
                break;
        }

        message.FixedLength = r.Position;
        for (int i = 0; i < count; i++)
        {
            uint pointer = BinaryPrimitives.ReadUInt32LittleEndian(body[slots[i]..]);
            if (pointer == 0)
            {
                continue;
            }

            if (roles[i] == DisplayImageRole.Mask && type != DrawComposite)
            {
                message.HasMask = true;
            }

            DisplayImageRef image;
            if (roles[i] >= DisplayImageRole.Path)
            {
                if (!TryReadData(body, message.FixedLength, roles[i], message._styleSegments, slots[i], pointer, out image))
                {
                    return false;
                }
            }
            else if (!TryReadImage(body, message.FixedLength, roles[i], slots[i], pointer, out image))
            {
                return false;
            }

            message._images[message.Count++] = image;
        }

        return true;
    }

    /// <summary>Size of the body <see cref="Write"/> produces.</summary>
    public readonly long GetWrittenLength(ReadOnlySpan<DisplayImageReplacement> replacements)
    {
        long n = FixedLength;
        for (int i = 0; i < Count; i++)
        {
            var image = _images[i];
            n += i < replacements.Length && replacements[i].Replaced
                ? SpiceImageDescriptor.Size + replacements[i].PayloadLength
                : image.Length + image.PaletteLength;
        }

        return n;
    }

    /// <summary>
    /// Re-marshals the message: the fixed part, then each image in pointer order (an original image is followed by its
    /// palette), with every pointer recomputed. <paramref name="replacements"/>[i] replaces image i; its payload is
    /// <paramref name="payloads"/>[PayloadStart..+PayloadLength].
    /// </summary>
    public readonly void Write(ReadOnlySpan<byte> body, ReadOnlySpan<DisplayImageReplacement> replacements, ReadOnlySpan<byte> payloads, IBufferWriter<byte> output)
    {
        long total = GetWrittenLength(replacements);
        if (total > int.MaxValue)
        {
            SpiceThrow.Protocol(SpiceProtocolError.MessageTooLarge, "a re-encoded draw message exceeds 2 GiB");
        }

        var span = output.GetSpan((int)total)[..(int)total];
        body[..FixedLength].CopyTo(span);
        int position = FixedLength;
        for (int i = 0; i < Count; i++)
        {
            var image = _images[i];
            BinaryPrimitives.WriteUInt32LittleEndian(span[image.Slot..], (uint)position);
            if (i < replacements.Length && replacements[i].Replaced)
            {
                var replacement = replacements[i];
                replacement.Descriptor.Write(span[position..]);
                payloads.Slice(replacement.PayloadStart, replacement.PayloadLength).CopyTo(span[(position + SpiceImageDescriptor.Size)..]);
                position += SpiceImageDescriptor.Size + replacement.PayloadLength;
                continue;
            }

            int start = position;
            body.Slice(image.Offset, image.Length).CopyTo(span[position..]);
            position += image.Length;
            if (image.PaletteSlot >= 0 && image.PaletteLength > 0)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(span[(start + image.PaletteSlot - image.Offset)..], (uint)position);
                body.Slice(image.PaletteOffset, image.PaletteLength).CopyTo(span[position..]);
                position += image.PaletteLength;
            }
        }

        output.Advance(position);
    }

    private static void Pointer(scoped ref CanvasReader r, DisplayImageRole role, scoped Span<int> slots, scoped Span<DisplayImageRole> roles, ref int count)
    {
        slots[count] = r.Position;
        roles[count] = role;
        count++;
        r.Skip(4);
    }

    private static void Brush(scoped ref CanvasReader r, scoped Span<int> slots, scoped Span<DisplayImageRole> roles, ref int count)
    {
        byte type = r.U8();
        switch (type)
        {
            case 0:
                break;
            case 1:
                r.Skip(4);
                break;
            case 2:
                Pointer(ref r, DisplayImageRole.Brush, slots, roles, ref count);
                r.Skip(8);
                break;
            default:
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"brush type {type} in a draw message");
                break;
        }
    }

    private static void Mask(scoped ref CanvasReader r, scoped Span<int> slots, scoped Span<DisplayImageRole> roles, ref int count)
    {
        r.Skip(1 + 8);
        Pointer(ref r, DisplayImageRole.Mask, slots, roles, ref count);
    }

    private static bool TryReadImage(ReadOnlySpan<byte> body, int fixedLength, DisplayImageRole role, int slot, uint pointer, out DisplayImageRef image)
    {
        image = default;
        int offset = CheckPointer(body, fixedLength, pointer, SpiceImageDescriptor.Size, "an image");
        var descriptor = SpiceImageDescriptor.Read(body[offset..]);
        var r = new CanvasReader(body, offset + SpiceImageDescriptor.Size);
        int paletteSlot = -1;
        uint palettePointer = 0;
        switch (descriptor.Type)
        {
            case SpiceImageType.Bitmap:
            {
                r.Skip(1);
                byte flags = r.U8();
                r.Skip(4);
                uint height = r.U32();
                uint stride = r.U32();
                if ((flags & PalFromCache) != 0)
                {
                    r.Skip(8);
                }
                else
                {
                    paletteSlot = r.Position;
                    palettePointer = r.U32();
                }

                ulong data = (ulong)stride * height;
                r.Bytes(data > int.MaxValue ? -1 : (long)data, "the bitmap data");
                break;
            }

            case SpiceImageType.Quic or SpiceImageType.LzRgb or SpiceImageType.GlzRgb or SpiceImageType.Jpeg or SpiceImageType.Lz4:
                r.Bytes(r.U32(), "the image data");
                break;
            case SpiceImageType.ZlibGlzRgb:
                r.Skip(4);
                r.Bytes(r.U32(), "the image data");
                break;
            case SpiceImageType.JpegAlpha:
                r.Skip(5);
                r.Bytes(r.U32(), "the image data");
                break;
            case SpiceImageType.LzPlt:
            {
                byte flags = r.U8();
                uint size = r.U32();
                if ((flags & PalFromCache) != 0)
                {
                    r.Skip(8);
                }
                else
                {
                    paletteSlot = r.Position;
                    palettePointer = r.U32();
                }

                r.Bytes(size, "the image data");
                break;
            }

            case SpiceImageType.FromCache or SpiceImageType.FromCacheLossless:
                break;
            case SpiceImageType.Surface:
                r.Skip(4);
                break;
            default:
                return false;
        }

        int paletteOffset = 0;
        int paletteLength = 0;
        if (palettePointer != 0)
        {
            paletteOffset = CheckPointer(body, fixedLength, palettePointer, 10, "a palette");
            uint entries = BinaryPrimitives.ReadUInt16LittleEndian(body[(paletteOffset + 8)..]);
            paletteLength = 10 + (int)entries * 4;
            if (paletteLength > body.Length - paletteOffset)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidOffset, "a palette extends past the draw message");
            }
        }
        else
        {
            paletteSlot = -1;
        }

        image = new DisplayImageRef(role, slot, offset, r.Position - offset, descriptor, paletteSlot, paletteOffset, paletteLength);
        return true;
    }

    /// <summary>A Path (DRAW_STROKE's first pointer), line style (its second) or String (DRAW_TEXT).</summary>
    private static bool TryReadData(ReadOnlySpan<byte> body, int fixedLength, DisplayImageRole role, int styleSegments, int slot, uint pointer, out DisplayImageRef block)
    {
        block = default;
        int offset = CheckPointer(body, fixedLength, pointer, 0, "a data block");
        var r = new CanvasReader(body, offset);
        if (role == DisplayImageRole.LineStyle)
        {
            r.Bytes((long)styleSegments * 4, "the line style");
        }
        else if (role == DisplayImageRole.Path)
        {
            uint segments = r.U32();
            for (uint i = 0; i < segments; i++)
            {
                r.Skip(1);
                r.Bytes((long)r.U32() * 8, "the path segment");
            }
        }
        else
        {
            int glyphs = r.U16();
            byte flags = r.U8();
            for (int i = 0; i < glyphs; i++)
            {
                r.Skip(16);
                long width = r.U16();
                long height = r.U16();
                long size = (flags & 7) switch
                {
                    1 => (width + 7) / 8 * height,
                    2 => (width + 1) / 2 * height,
                    4 => width * height,
                    _ => -2,
                };
                if (size == -2)
                {
                    return false;
                }

                r.Bytes(size, "the glyph");
            }
        }

        block = new DisplayImageRef(role, slot, offset, r.Position - offset, default, -1, 0, 0);
        return true;
    }

    private static int CheckPointer(ReadOnlySpan<byte> body, int fixedLength, uint pointer, int minimum, string what)
    {
        if (pointer < (uint)fixedLength || pointer > (uint)body.Length || body.Length - (int)pointer < minimum)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidOffset, $"{what} pointer {pointer} is outside the draw message ({fixedLength}..{body.Length})");
        }

        return (int)pointer;
    }
}
