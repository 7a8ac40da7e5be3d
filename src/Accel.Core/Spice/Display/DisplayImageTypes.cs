using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Spice.Codecs;

namespace Accel.Core.Spice.Display;

/// <summary>What an image does in a draw message.</summary>
internal enum DisplayImageRole : byte
{
    Source,
    Brush,
    Mask,
    // Not images: blocks copied verbatim when re-marshalling.

    /// <summary>DRAW_STROKE's Path.</summary>
    Path,
    /// <summary>DRAW_STROKE's line style (fixed28_4[style_nseg]).</summary>
    LineStyle,
    /// <summary>DRAW_TEXT's String (glyphs).</summary>
    Text,
}

/// <summary>The 18-byte SpiceImageDescriptor (brief §4.3).</summary>
internal readonly record struct SpiceImageDescriptor(ulong Id, SpiceImageType Type, byte Flags, uint Width, uint Height)
{
    public const int Size = 18;
    public const byte CacheMe = 1;
    public const byte HighBitsSet = 2;
    public const byte CacheReplaceMe = 4;

    public static SpiceImageDescriptor Read(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(s),
        (SpiceImageType)s[8],
        s[9],
        BinaryPrimitives.ReadUInt32LittleEndian(s[10..]),
        BinaryPrimitives.ReadUInt32LittleEndian(s[14..]));

    public void Write(Span<byte> s)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(s, Id);
        s[8] = (byte)Type;
        s[9] = Flags;
        BinaryPrimitives.WriteUInt32LittleEndian(s[10..], Width);
        BinaryPrimitives.WriteUInt32LittleEndian(s[14..], Height);
    }
}

/// <summary>
/// One image a draw message points to. Offsets are relative to the message body. The image's bytes are
/// [<see cref="Offset"/>, <see cref="Offset"/> + <see cref="Length"/>); a BITMAP or LZ_PLT may point to a palette
/// elsewhere in the body (<see cref="PaletteSlot"/> is the absolute position of that pointer, -1 if none).
/// </summary>
internal readonly record struct DisplayImageRef(
    DisplayImageRole Role, int Slot, int Offset, int Length, SpiceImageDescriptor Descriptor, int PaletteSlot, int PaletteOffset, int PaletteLength)
{
    /// <summary>The payload after the descriptor.</summary>
    public int PayloadOffset => Offset + SpiceImageDescriptor.Size;

    public int PayloadLength => Length - SpiceImageDescriptor.Size;
}

/// <summary>An image to put in place of the original when re-marshalling (no palette).</summary>
internal readonly record struct DisplayImageReplacement(bool Replaced, SpiceImageDescriptor Descriptor, int PayloadStart, int PayloadLength)
{
    public static DisplayImageReplacement Keep => default;
}

[InlineArray(MaxImages)]
internal struct DisplayImageRefs
{
    public const int MaxImages = 3;
    private DisplayImageRef _element;
}
