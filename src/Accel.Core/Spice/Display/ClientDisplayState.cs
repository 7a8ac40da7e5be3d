using System.Buffers;
using System.Buffers.Binary;
using Spice.Codecs;
using Spice.Codecs.Glz;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Display;

/// <summary>
/// What the client really holds while the server edge absorbs draws (<see cref="Policies.DisplayCanvasPolicy"/>): the
/// image-cache ids it was given by forwarded messages, whether its GLZ window or palette cache has a gap, and the
/// streams' destinations (a STREAM_DATA is absorbed as damage of its stream's rectangle).
/// </summary>
internal sealed class ClientDisplayState : IDisposable
{
    public const ushort MsgReset = 103;
    public const ushort MsgCopyBits = 104;
    public const ushort MsgInvalList = 105;
    public const ushort MsgInvalAllPixmaps = 106;
    public const ushort MsgInvalAllPalettes = 108;
    public const ushort MsgStreamCreate = 122;
    public const ushort MsgStreamData = 123;
    public const ushort MsgStreamDestroy = 125;
    public const ushort MsgStreamDestroyAll = 126;
    public const ushort MsgSurfaceCreate = 314;
    public const ushort MsgSurfaceDestroy = 315;
    public const ushort MsgStreamDataSized = 316;

    /// <summary>More cache ids than any client keeps (spice-gtk's cache is bounded by pixels, 80 MiB): a protocol error.</summary>
    private const int MaxCachedIds = 1 << 20;
    private const byte PalFromCache = 2;

    private readonly HashSet<ulong> _cached = new();
    /// <summary>SPICE_VIDEO_CODEC_TYPE_MJPEG: every frame stands alone; other codecs' frames refer to earlier ones.</summary>
    private const byte CodecMjpeg = 1;

    private readonly Dictionary<uint, (uint Surface, DamageRect Dest, byte Codec, bool Gap)> _streams = new();

    /// <summary>A GLZ image was absorbed: the client's GLZ window lacks it, so no later GLZ image may reach the client.</summary>
    public bool GlzGap { get; private set; }

    /// <summary>
    /// The edge's own GLZ stream to the client, from the first absorbed GLZ_RGB image on (null before, and when that
    /// image's id could not be read, as for ZLIB_GLZ: refreshes then go as LZ_RGB). spice-gtk's window takes ids in
    /// order (a reference to a missing id blocks its decoder, and it frees nothing past a missing id), so the edge's
    /// ids start at the absorbed image's, and the edge's images reference only each other: its first tells the client
    /// to free every spice-server image before it. spice-server's later GLZ images never reach the client.
    /// </summary>
    public GlzEncoderDictionary? EdgeGlz { get; private set; }

    /// <summary>A palette image was absorbed: a later image taking its palette from the cache might miss it.</summary>
    public bool PaletteGap { get; private set; }

    public int CachedIds => _cached.Count;

    public bool HasCached(ulong id) => _cached.Contains(id);

    /// <summary>Whether a message that changes pixels does (true: absorb it, it has a draw, COPY_BITS or stream frame).</summary>
    public static bool IsPixelMessage(ushort type) =>
        DisplayDrawMessage.IsDrawWithImages(type) || type is MsgCopyBits or MsgStreamData or MsgStreamDataSized;

    /// <summary>COPY_BITS: the surface, the source rectangle it reads and the shift to its destination.</summary>
    public static bool TryReadCopyBits(ReadOnlySpan<byte> body, out uint surface, out DamageRect source, out int dx, out int dy)
    {
        var r = new Canvas.CanvasReader(body);
        var b = r.Base();
        int srcX = r.I32(), srcY = r.I32();
        surface = b.SurfaceId;
        source = new DamageRect(srcX, srcY, srcX + (b.Box.Right - b.Box.Left), srcY + (b.Box.Bottom - b.Box.Top));
        dx = b.Box.Left - srcX;
        dy = b.Box.Top - srcY;
        return true;
    }

    /// <summary>Whether a parsed draw carries a source image the client gets now (not from its cache or a surface).</summary>
    public static bool BringsNewImage(in DisplayDrawMessage draw)
    {
        for (int i = 0; i < draw.Count; i++)
        {
            if (draw[i].Role == DisplayImageRole.Source
                && draw[i].Descriptor.Type is not (SpiceImageType.FromCache or SpiceImageType.FromCacheLossless or SpiceImageType.Surface))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a parsed draw brings an image spice-server coded as a photo (QUIC, or JPEG on a WAN setting).</summary>
    public static bool BringsPhoto(in DisplayDrawMessage draw)
    {
        for (int i = 0; i < draw.Count; i++)
        {
            if (draw[i].Role == DisplayImageRole.Source && draw[i].Descriptor.Type is SpiceImageType.Quic or SpiceImageType.Jpeg or SpiceImageType.JpegAlpha)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a parsed draw takes pixels from a surface (a SURFACE image: it copies from elsewhere on the client).</summary>
    public static bool ReadsSurface(in DisplayDrawMessage draw)
    {
        for (int i = 0; i < draw.Count; i++)
        {
            if (draw[i].Role < DisplayImageRole.Path && draw[i].Descriptor.Type == SpiceImageType.Surface)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether a parsed draw the edge would forward depends on something the client lacks: an image from the cache it
    /// was never given, a GLZ image after a gap, a palette from the cache after a gap.
    /// </summary>
    public bool DependsOnMissing(in DisplayDrawMessage draw, ReadOnlySpan<byte> body)
    {
        for (int i = 0; i < draw.Count; i++)
        {
            var image = draw[i];
            if (image.Role >= DisplayImageRole.Path)
            {
                continue;
            }

            var d = image.Descriptor;
            switch (d.Type)
            {
                case SpiceImageType.FromCache or SpiceImageType.FromCacheLossless when !_cached.Contains(d.Id):
                case SpiceImageType.GlzRgb or SpiceImageType.ZlibGlzRgb when GlzGap:
                    return true;
                case SpiceImageType.Bitmap or SpiceImageType.LzPlt when PaletteGap && PaletteFromCache(d.Type, body, image):
                    return true;
            }
        }

        return false;
    }

    /// <summary>A parsed draw goes to the client: the images it tells the client to cache are there now.</summary>
    public void OnForwarded(in DisplayDrawMessage draw)
    {
        for (int i = 0; i < draw.Count; i++)
        {
            var d = draw[i].Descriptor;
            if (draw[i].Role < DisplayImageRole.Path && (d.Flags & (SpiceImageDescriptor.CacheMe | SpiceImageDescriptor.CacheReplaceMe)) != 0)
            {
                if (_cached.Count >= MaxCachedIds)
                {
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"more than {MaxCachedIds} cached images");
                }

                _cached.Add(d.Id);
            }
        }
    }

    /// <summary>A parsed draw is absorbed: what it would have put in the client's cache or GLZ window is missing there.</summary>
    public void OnAbsorbed(in DisplayDrawMessage draw, ReadOnlySpan<byte> body)
    {
        if (!GlzGap && FirstGlzId(draw, body) is { } first)
        {
            EdgeGlz = new GlzEncoderDictionary();
            EdgeGlz.Reset(first);
        }

        for (int i = 0; i < draw.Count; i++)
        {
            var image = draw[i];
            if (image.Role >= DisplayImageRole.Path)
            {
                continue;
            }

            var d = image.Descriptor;
            if ((d.Flags & (SpiceImageDescriptor.CacheMe | SpiceImageDescriptor.CacheReplaceMe)) != 0)
            {
                // CACHE_REPLACE_ME: the client's entry under that id now differs from the server's.
                _cached.Remove(d.Id);
            }

            GlzGap |= d.Type is SpiceImageType.GlzRgb or SpiceImageType.ZlibGlzRgb;
            PaletteGap |= d.Type is SpiceImageType.Bitmap or SpiceImageType.LzPlt;
        }
    }

    /// <summary>The smallest GLZ id among the draw's GLZ_RGB images (their payload: u32 data size, then the GLZ header); null if none or a ZLIB_GLZ one.</summary>
    private static ulong? FirstGlzId(in DisplayDrawMessage draw, ReadOnlySpan<byte> body)
    {
        ulong? first = null;
        for (int i = 0; i < draw.Count; i++)
        {
            var image = draw[i];
            if (image.Role >= DisplayImageRole.Path)
            {
                continue;
            }

            switch (image.Descriptor.Type)
            {
                case SpiceImageType.ZlibGlzRgb:
                    return null;
                case SpiceImageType.GlzRgb when image.PayloadLength >= 4 + GlzHeader.Size
                    && GlzHeader.TryRead(body.Slice(image.PayloadOffset + 4, image.PayloadLength - 4), CodecLimits.Default, out var header) == OperationStatus.Done:
                    first = Math.Min(first ?? ulong.MaxValue, header.Id);
                    break;
                case SpiceImageType.GlzRgb:
                    return null;
            }
        }

        return first;
    }

    public void Dispose() => EdgeGlz?.Dispose();

    /// <summary>A draw that could not be parsed was absorbed: assume the worst of its images.</summary>
    public void OnAbsorbedUnknown()
    {
        GlzGap = true;
        PaletteGap = true;
    }

    /// <summary>A control message goes to the client (forwarded in order, in every mode).</summary>
    public void OnControlForwarded(ushort type, ReadOnlySpan<byte> body)
    {
        switch (type)
        {
            case MsgInvalList:
            {
                int count = body.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(body) : 0;
                for (int i = 0, at = 2; i < count && at + 9 <= body.Length; i++, at += 9)
                {
                    _cached.Remove(BinaryPrimitives.ReadUInt64LittleEndian(body[(at + 1)..]));
                }

                break;
            }

            case MsgInvalAllPixmaps:
                _cached.Clear();
                break;
            case MsgInvalAllPalettes:
                PaletteGap = false;
                break;
            case MsgStreamCreate when body.Length >= 50:
                // surface u32, id u32, flags u8, codec u8, stamp u64, 4 × u32 sizes, dest rect (top, left, bottom, right).
                _streams[BinaryPrimitives.ReadUInt32LittleEndian(body[4..])] = (BinaryPrimitives.ReadUInt32LittleEndian(body), ReadRect(body[34..]), body[9], false);
                break;
            case MsgStreamDestroy when body.Length >= 4:
                _streams.Remove(BinaryPrimitives.ReadUInt32LittleEndian(body));
                break;
            case MsgStreamDestroyAll or MsgReset:
                _streams.Clear();
                break;
        }
    }

    /// <summary>
    /// A frame of a stream was absorbed: the client's decoder lacks it. Later frames of a codec that refers to earlier
    /// frames (anything but MJPEG) would decode wrongly, so they are absorbed too (<see cref="StreamDependsOnMissing"/>)
    /// until the stream ends.
    /// </summary>
    public void OnStreamFrameAbsorbed(ushort type, ReadOnlySpan<byte> body)
    {
        if (type is MsgStreamData or MsgStreamDataSized && body.Length >= 4 && _streams.TryGetValue(BinaryPrimitives.ReadUInt32LittleEndian(body), out var stream))
        {
            _streams[BinaryPrimitives.ReadUInt32LittleEndian(body)] = stream with { Gap = true };
        }
    }

    /// <summary>Whether a stream frame belongs to a stream whose earlier frames the client's decoder partly lacks (not MJPEG).</summary>
    public bool StreamDependsOnMissing(ushort type, ReadOnlySpan<byte> body) =>
        type is MsgStreamData or MsgStreamDataSized && body.Length >= 4 && _streams.TryGetValue(BinaryPrimitives.ReadUInt32LittleEndian(body), out var stream)
        && stream.Gap && stream.Codec != CodecMjpeg;

    /// <summary>The surface and bounding box a pixel message draws into (its DisplayBase box, or its stream's rectangle).</summary>
    public bool TryGetTarget(ushort type, ReadOnlySpan<byte> body, out uint surface, out DamageRect box)
    {
        surface = 0;
        box = default;
        switch (type)
        {
            case MsgStreamData or MsgStreamDataSized when body.Length >= 4:
            {
                if (!_streams.TryGetValue(BinaryPrimitives.ReadUInt32LittleEndian(body), out var stream))
                {
                    return false;
                }

                surface = stream.Surface;
                box = type == MsgStreamDataSized && body.Length >= 32 ? ReadRect(body[16..]) : stream.Dest;
                return true;
            }

            case MsgStreamData or MsgStreamDataSized:
                return false;
            default:
                if (body.Length < 20)
                {
                    return false;
                }

                surface = BinaryPrimitives.ReadUInt32LittleEndian(body);
                box = ReadRect(body[4..]);
                return true;
        }
    }

    /// <summary>SpiceRect on the wire: top, left, bottom, right.</summary>
    private static DamageRect ReadRect(ReadOnlySpan<byte> s) => new(
        BinaryPrimitives.ReadInt32LittleEndian(s[4..]),
        BinaryPrimitives.ReadInt32LittleEndian(s),
        BinaryPrimitives.ReadInt32LittleEndian(s[12..]),
        BinaryPrimitives.ReadInt32LittleEndian(s[8..]));

    private static bool PaletteFromCache(SpiceImageType type, ReadOnlySpan<byte> body, in DisplayImageRef image)
    {
        // BITMAP payload: format u8, flags u8, …; LZ_PLT payload: flags u8, … (PAL_FROM_CACHE in both flag bytes).
        int at = image.PayloadOffset + (type == SpiceImageType.Bitmap ? 1 : 0);
        return (uint)at < (uint)body.Length && (body[at] & PalFromCache) != 0;
    }
}
