using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Protocol.Messages;

/// <summary>
/// SPICE_MSGC_DISPLAY_INIT (client → server, 14 bytes): u8 pixmap_cache_id, i64 pixmap_cache_size (pixels),
/// u8 glz_dictionary_id, i32 glz_dictionary_window_size (pixels). The server waits up to 30 s for it.
/// </summary>
internal readonly record struct SpiceDisplayInit(byte PixmapCacheId, long PixmapCacheSize, byte GlzDictionaryId, int GlzDictionaryWindowSize) : ISpiceMessageBody
{
    public const int Length = 14;

    /// <summary>What spice-gtk sends: cache 1 of 80 MiB / 4 pixels, GLZ dictionary 0 with a 12 MiB / 4 pixel window.</summary>
    public static SpiceDisplayInit SpiceGtkDefault => new(1, 80L * 1024 * 1024 / 4, 0, 12 * 1024 * 1024 / 4);

    public ushort MessageType => (ushort)SpiceDisplayMsgc.Init;

    public int BodyLength => Length;

    public static SpiceDisplayInit Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "DISPLAY_INIT");
        return new SpiceDisplayInit(reader.ReadByte(), (long)reader.ReadUInt64(), reader.ReadByte(), reader.ReadInt32());
    }

    public void WriteBody(Span<byte> destination)
    {
        destination[0] = PixmapCacheId;
        BinaryPrimitives.WriteInt64LittleEndian(destination[1..], PixmapCacheSize);
        destination[9] = GlzDictionaryId;
        BinaryPrimitives.WriteInt32LittleEndian(destination[10..], GlzDictionaryWindowSize);
    }
}

/// <summary>SPICE_MSG_DISPLAY_SURFACE_CREATE: u32 surface_id, u32 width, u32 height, u32 format, u32 flags.</summary>
internal readonly record struct SpiceSurfaceCreate(uint SurfaceId, uint Width, uint Height, uint Format, uint Flags) : ISpiceMessageBody
{
    public const int Length = 20;

    /// <summary>SPICE_SURFACE_FLAGS_PRIMARY.</summary>
    public const uint PrimaryFlag = 1;

    public ushort MessageType => (ushort)SpiceDisplayMsg.SurfaceCreate;

    public int BodyLength => Length;

    public static SpiceSurfaceCreate Parse(in ReadOnlySequence<byte> body)
    {
        var reader = new SpiceReader(body, "SURFACE_CREATE");
        return new SpiceSurfaceCreate(reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadUInt32(), reader.ReadUInt32());
    }

    public void WriteBody(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, SurfaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Width);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], Height);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Format);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[16..], Flags);
    }
}
