using System.Runtime.InteropServices;
using System.Buffers;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Canvas;

/// <summary>
/// The pixels of every surface of one SPICE display channel, kept by applying each server → client display message
/// (and the client's DISPLAY_INIT, which sets the image cache size). Not thread-safe: one channel's pump feeds it.
/// Bad input throws <see cref="SpiceProtocolException"/>; the caller closes that channel only.
/// </summary>
internal sealed class DisplayCanvas : IDisposable
{
    private const ushort MsgCopyBits = 104;
    private const ushort MsgInvalList = 105;
    private const ushort MsgInvalAllPixmaps = 106;
    private const ushort MsgInvalPalette = 107;
    private const ushort MsgInvalAllPalettes = 108;
    private const ushort MsgReset = 103;
    private const ushort MsgSurfaceCreate = 314;
    private const ushort MsgSurfaceDestroy = 315;
    private const uint PrimaryFlag = 1;

    private readonly CanvasLimits _limits;
    private readonly Dictionary<uint, PixmanImage> _surfaces = new();
    private readonly ImagePool _pool = new();
    private readonly CanvasImages _images;
    private readonly CanvasDrawing _drawing;
    private readonly CanvasStroke _stroke;
    private readonly CanvasText _text;
    private readonly CanvasStreams _streams;
    private readonly Func<uint, PixmanImage> _surfaceLookup;
    private long _surfacePixels;
    private long _unsupportedDraws;

    public DisplayCanvas(CanvasLimits? limits = null)
    {
        _limits = limits ?? CanvasLimits.Default;
        _surfaceLookup = Surface;
        _images = new CanvasImages(_limits, _pool, _surfaceLookup);
        _drawing = new CanvasDrawing(_images, _pool, _limits, _surfaceLookup);
        _stroke = new CanvasStroke(_drawing, _images);
        _text = new CanvasText(_drawing, _images, _pool);
        _streams = new CanvasStreams(_limits, _pool, _surfaceLookup);
    }

    /// <summary>The primary surface's id, or null before SURFACE_CREATE with PRIMARY.</summary>
    public uint? PrimaryId { get; private set; }

    public int SurfaceCount => _surfaces.Count;

    /// <summary>Video streams alive (STREAM_CREATE without STREAM_DESTROY yet).</summary>
    public int StreamCount => _streams.Count;

    public CanvasImages Images => _images;

    /// <summary>Scratch and decoded images allocated rather than reused from the pool (flat in the steady state).</summary>
    public long PoolAllocations => _pool.Allocations;

    /// <summary>Draw messages this canvas could not rasterise (vector-glyph text, non-MJPEG stream frames): its pixels may be wrong since.</summary>
    public long Unsupported => _unsupportedDraws + _streams.Unsupported;

    /// <summary>Messages applied, by type (diagnostics).</summary>
    public Dictionary<ushort, long> Applied { get; } = new();

    public bool TryGetSurface(uint id, out PixmanImage surface) => _surfaces.TryGetValue(id, out surface!);

    /// <summary>Applies a client → server display message (DISPLAY_INIT announces the image cache size).</summary>
    public void ApplyClientMessage(ushort type, in ReadOnlySequence<byte> body)
    {
        if (type == (ushort)SpiceDisplayMsgc.Init && body.Length >= SpiceDisplayInit.Length)
        {
            var init = SpiceDisplayInit.Parse(body);
            _images.CacheCapacityPixels = Math.Clamp(init.PixmapCacheSize, 0, _limits.MaxImageCachePixels);
        }
    }

    public void Apply(ushort type, in ReadOnlySequence<byte> body)
    {
        using var contiguous = new ContiguousBody(body);
        Apply(type, contiguous.Span);
    }

    /// <summary>Applies one server → client display message body. Messages that do not change pixels are ignored.</summary>
    public void Apply(ushort type, ReadOnlySpan<byte> body)
    {
        CollectionsMarshal.GetValueRefOrAddDefault(Applied, type, out _)++;
        switch (type)
        {
            case MsgSurfaceCreate:
                CreateSurface(body);
                break;
            case MsgSurfaceDestroy:
                DestroySurface(new CanvasReader(body).U32());
                break;
            case MsgCopyBits:
                _drawing.CopyBits(body);
                break;
            case MsgInvalList:
            {
                var r = new CanvasReader(body);
                int count = r.U16();
                for (int i = 0; i < count; i++)
                {
                    r.U8();
                    _images.Invalidate(r.U64());
                }

                break;
            }

            case MsgInvalAllPixmaps:
                _images.InvalidateAll();
                break;
            case MsgInvalPalette:
                _images.InvalidatePalette(new CanvasReader(body).U64());
                break;
            case MsgInvalAllPalettes:
                _images.InvalidateAllPalettes();
                break;
            case MsgReset:
                _streams.DestroyAll();
                DestroyAllSurfaces();
                break;
            case DrawTypes.Stroke:
                _stroke.Draw(body);
                break;
            case DrawTypes.Text:
                if (!_text.Draw(body))
                {
                    _unsupportedDraws++;
                }

                break;
            case >= DrawTypes.Fill and <= DrawTypes.AlphaBlend or DrawTypes.Composite:
                if (!_drawing.Draw(type, body))
                {
                    _unsupportedDraws++;
                }

                break;
            default:
                _streams.Apply(type, body);
                break;
        }
    }

    public void Dispose()
    {
        _streams.Dispose();
        DestroyAllSurfaces();
        _stroke.Dispose();
        _text.Dispose();
        _drawing.Dispose();
        _images.Dispose();
        _pool.Dispose();
    }

    private PixmanImage Surface(uint id) => _surfaces.TryGetValue(id, out var s)
        ? s
        : throw new SpiceProtocolException(SpiceProtocolError.InvalidValue, $"surface {id} does not exist");

    private void CreateSurface(ReadOnlySpan<byte> body)
    {
        var r = new CanvasReader(body);
        uint id = r.U32(), width = r.U32(), height = r.U32(), format = r.U32(), flags = r.U32();
        uint pixman = format switch
        {
            1 => PixmanFormat.A1,
            8 => PixmanFormat.A8,
            16 => PixmanFormat.X1R5G5B5,
            80 => PixmanFormat.R5G6B5,
            32 => PixmanFormat.X8R8G8B8,
            96 => PixmanFormat.A8R8G8B8,
            _ => throw new SpiceProtocolException(SpiceProtocolError.InvalidValue, $"surface format {format}"),
        };
        if (width == 0 || height == 0 || width > (uint)_limits.MaxDimension || height > (uint)_limits.MaxDimension)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"surface {id} of {width}x{height}");
        }

        if (_surfaces.ContainsKey(id))
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"surface {id} created twice");
        }

        long pixels = (long)width * height;
        if (_surfaces.Count >= _limits.MaxSurfaces || _surfacePixels + pixels > _limits.MaxSurfacePixels)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"surface {id} exceeds the canvas limits ({_surfaces.Count} surfaces, {_surfacePixels} pixels)");
        }

        _surfaces[id] = new PixmanImage(pixman, (int)width, (int)height);
        _surfacePixels += pixels;
        if ((flags & PrimaryFlag) != 0)
        {
            PrimaryId = id;
        }
    }

    private void DestroySurface(uint id)
    {
        if (!_surfaces.Remove(id, out var surface))
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"surface {id} destroyed but does not exist");
        }

        _surfacePixels -= (long)surface.Width * surface.Height;
        surface.Dispose();
        _streams.SurfaceDestroyed(id);
        if (PrimaryId == id)
        {
            PrimaryId = null;
        }
    }

    private void DestroyAllSurfaces()
    {
        foreach (var s in _surfaces.Values)
        {
            s.Dispose();
        }

        _surfaces.Clear();
        _surfacePixels = 0;
        PrimaryId = null;
    }
}
