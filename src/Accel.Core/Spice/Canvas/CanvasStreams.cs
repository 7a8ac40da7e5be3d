using System.Buffers;
using Spice.Codecs;
using Spice.Codecs.Jpeg;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// Video streams (STREAM_CREATE, STREAM_DATA, STREAM_DATA_SIZED, STREAM_CLIP, STREAM_DESTROY, STREAM_DESTROY_ALL): each
/// MJPEG frame is decoded with libturbojpeg and put on the stream's surface, scaled to the destination rectangle with
/// NEAREST and clipped to the stream's clip, as spice-gtk's canvas put_image does. Other codecs count as unsupported.
/// </summary>
internal sealed unsafe class CanvasStreams : IDisposable
{
    private const ushort MsgCreate = 122;
    private const ushort MsgData = 123;
    private const ushort MsgClip = 124;
    private const ushort MsgDestroy = 125;
    private const ushort MsgDestroyAll = 126;
    private const ushort MsgDataSized = 316;
    private const byte CodecMjpeg = 1;
    private const byte TopDown = 1;

    private readonly CanvasLimits _limits;
    private readonly CodecLimits _codecLimits;
    private readonly ImagePool _pool;
    private readonly Func<uint, PixmanImage> _surface;
    private readonly Dictionary<uint, Stream> _streams = new();

    public CanvasStreams(CanvasLimits limits, ImagePool pool, Func<uint, PixmanImage> surface)
    {
        _limits = limits;
        _pool = pool;
        _codecLimits = new CodecLimits { MaxWidth = limits.MaxDimension, MaxHeight = limits.MaxDimension, MaxOutputBytes = limits.MaxImagePixels * 4 };
        _surface = surface;
    }

    /// <summary>Frames of codecs the canvas cannot decode.</summary>
    public long Unsupported { get; private set; }

    public int Count => _streams.Count;

    public void Apply(ushort type, ReadOnlySpan<byte> body)
    {
        var r = new CanvasReader(body);
        switch (type)
        {
            case MsgCreate:
            {
                uint surface = r.U32(), id = r.U32();
                byte flags = r.U8(), codec = r.U8();
                r.U64();
                r.U32();
                r.U32();
                r.U32();
                r.U32();
                var dest = r.Rect();
                _surface(surface);
                if (_streams.ContainsKey(id) || _streams.Count >= _limits.MaxStreams)
                {
                    SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"stream {id} cannot be created ({_streams.Count} alive)");
                }

                var stream = new Stream(surface, flags, codec, dest);
                stream.SetClip(ref r);
                _streams[id] = stream;
                break;
            }

            case MsgData:
            {
                var stream = Get(r.U32());
                r.U32();
                uint size = r.U32();
                Frame(stream, r.Bytes(size, "a stream frame"), stream.Dest);
                break;
            }

            case MsgDataSized:
            {
                var stream = Get(r.U32());
                r.U32();
                r.U32();
                r.U32();
                var dest = r.Rect();
                uint size = r.U32();
                Frame(stream, r.Bytes(size, "a stream frame"), dest);
                break;
            }

            case MsgClip:
                Get(r.U32()).SetClip(ref r);
                break;
            case MsgDestroy:
            {
                uint id = r.U32();
                if (_streams.Remove(id, out var s))
                {
                    s.Clip.Dispose();
                }

                break;
            }

            case MsgDestroyAll:
                DestroyAll();
                break;
        }
    }

    public void SurfaceDestroyed(uint surface)
    {
        foreach (var (id, s) in _streams)
        {
            if (s.Surface == surface)
            {
                _streams.Remove(id);
                s.Clip.Dispose();
            }
        }
    }

    public void DestroyAll()
    {
        foreach (var s in _streams.Values)
        {
            s.Clip.Dispose();
        }

        _streams.Clear();
    }

    public void Dispose() => DestroyAll();

    private Stream Get(uint id) => _streams.TryGetValue(id, out var s)
        ? s
        : throw new SpiceProtocolException(SpiceProtocolError.InvalidValue, $"stream {id} does not exist");

    private void Frame(Stream stream, ReadOnlySpan<byte> data, in SpiceRect dest)
    {
        if (stream.Codec != CodecMjpeg)
        {
            Unsupported++;
            return;
        }

        var limits = _codecLimits;
        if (JpegCodec.TryReadSize(data, out int width, out int height, limits) != OperationStatus.Done)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a stream frame is not a JPEG image");
        }

        using var frame = _pool.Rent(PixmanFormat.X8R8G8B8, width, height, clear: true);
        if (JpegCodec.Decode(data, width, height, frame.Span, frame.Stride, limits) != OperationStatus.Done)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a stream frame does not decode");
        }

        if ((stream.Flags & TopDown) == 0)
        {
            Flip(frame);
        }

        var target = _surface(stream.Surface);
        int dw = dest.Width, dh = dest.Height;
        if (dw <= 0 || dh <= 0)
        {
            return;
        }

        if (stream.HasClip)
        {
            PixmanNative.SetClipRegion32(target.Handle, stream.Clip.Native);
        }

        if (dw != width || dh != height)
        {
            var t = PixmanTransform.ScaleTranslate((int)Math.Round(65536.0 * width / dw), (int)Math.Round(65536.0 * height / dh), 0, 0);
            PixmanNative.SetTransform(frame.Handle, &t);
            PixmanNative.SetFilter(frame.Handle, 3, null, 0);
        }

        PixmanNative.SetRepeat(frame.Handle, 0);
        PixmanNative.Composite32(PixmanOp.Src, frame.Handle, 0, target.Handle, 0, 0, 0, 0, dest.Left, dest.Top, dw, dh);
        PixmanNative.SetClipRegion32(target.Handle, null);
    }

    private static void Flip(PixmanImage image)
    {
        Span<byte> tmp = image.Stride <= 16384 ? stackalloc byte[image.Stride] : new byte[image.Stride];
        for (int y = 0; y < image.Height / 2; y++)
        {
            var a = image.Row(y);
            var b = image.Row(image.Height - 1 - y);
            a.CopyTo(tmp);
            b.CopyTo(a);
            tmp.CopyTo(b);
        }
    }

    private sealed class Stream(uint surface, byte flags, byte codec, SpiceRect dest)
    {
        public uint Surface { get; } = surface;

        public byte Flags { get; } = flags;

        public byte Codec { get; } = codec;

        public SpiceRect Dest { get; } = dest;

        public CanvasRegion Clip { get; } = new();

        public bool HasClip { get; private set; }

        public void SetClip(ref CanvasReader r)
        {
            byte type = r.U8();
            HasClip = type == 1;
            if (!HasClip)
            {
                return;
            }

            uint n = r.U32();
            if (n > (uint)(r.Body.Length - r.Position) / 16)
            {
                SpiceThrow.Truncated("a stream clip");
            }

            Span<PixmanBox> boxes = n <= 64 ? stackalloc PixmanBox[(int)n] : new PixmanBox[n];
            for (int i = 0; i < boxes.Length; i++)
            {
                var rect = r.Rect();
                boxes[i] = new PixmanBox(rect.Left, rect.Top, rect.Right, rect.Bottom);
            }

            Clip.SetRects(boxes);
        }
    }
}
