using System.Buffers;
using System.Runtime.CompilerServices;
using Spice.Codecs.Lz;

namespace Spice.Codecs.Glz;

/// <summary>Options for the GLZ encoder dictionary.</summary>
public sealed class GlzEncoderOptions
{
    public static GlzEncoderOptions Default { get; } = new();

    /// <summary>
    /// The client's window in pixels (its DISPLAY_INIT glz_dictionary_window_size). spice-gtk's minimum is 12 MiB / 4.
    /// The encoder never references an image the client may have released.
    /// </summary>
    public long WindowPixels { get; init; } = 12L * 1024 * 1024 / 4;

    /// <summary>Log2 of the match-finder hash table size.</summary>
    public int HashLog { get; init; } = 16;
}

/// <summary>
/// The server side of GLZ: assigns image ids, keeps the pixels the client will hold for each image (exactly as its
/// decoder reconstructs them) and finds matches inside the image and in earlier images of the window.
/// Ids advance only when an image is successfully encoded. Not thread-safe: one dictionary per client session.
/// </summary>
public sealed class GlzEncoderDictionary : IDisposable
{
    private readonly GlzEncoderOptions _options;
    private readonly Queue<GlzWindowEntry> _window = new();
    private readonly Dictionary<ulong, GlzWindowEntry> _byId = new();
    private readonly ulong[] _rgbHash;
    private readonly ulong[] _alphaHash;
    private readonly int _hashShift;
    private long _windowPixels;
    private ulong _nextId;

    public GlzEncoderDictionary(GlzEncoderOptions? options = null)
    {
        _options = options ?? GlzEncoderOptions.Default;
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.HashLog, 10, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.HashLog, 24, nameof(options));
        _rgbHash = new ulong[1 << _options.HashLog];
        _alphaHash = new ulong[1 << _options.HashLog];
        _hashShift = 32 - _options.HashLog;
    }

    /// <summary>The id the next encoded image will get.</summary>
    public ulong NextImageId => _nextId;

    /// <summary>True when a bitmap of this size fits the client's window at all.</summary>
    public bool CanEncode(int width, int height) => (long)width * height <= _options.WindowPixels && (long)width * height > 0;

    /// <summary>Worst-case output size for one image.</summary>
    public static int GetMaxEncodedLength(int width, int height, LzImageType type) =>
        LzEncoder.GetMaxEncodedLength(width, height, type) + GlzHeader.Size;

    /// <summary>
    /// Encodes a 16/24/32-bit or RGBA bitmap as GLZ. On <see cref="OperationStatus.DestinationTooSmall"/> nothing changes
    /// (the id is not consumed). The rows are coded in memory order, as the header's top_down says.
    /// </summary>
    public OperationStatus Encode(ReadOnlySpan<byte> pixels, in BitmapDescriptor bitmap, Span<byte> destination, out int written, out ulong imageId)
    {
        bitmap.Validate(pixels.Length, nameof(bitmap));
        LzImageType type = LzFormat.FromBitmapFormat(bitmap.Format);
        if (type is not (LzImageType.Rgb16 or LzImageType.Rgb24 or LzImageType.Rgb32 or LzImageType.Rgba))
        {
            throw new ArgumentException($"GLZ codes RGB formats only, not {bitmap.Format}.", nameof(bitmap));
        }

        if (!CanEncode(bitmap.Width, bitmap.Height))
        {
            throw new ArgumentException("The image is larger than the client's GLZ window.", nameof(bitmap));
        }

        written = 0;
        imageId = _nextId;
        int n = bitmap.Width * bitmap.Height;
        int bpp = LzFormat.BytesPerPixel(type);
        int stride = bitmap.Width * bpp;

        // Make room: the client keeps at most the window, so the oldest images leave first.
        long pixelsAfter = _windowPixels + n;
        int evict = 0;
        foreach (GlzWindowEntry e in _window)
        {
            if (pixelsAfter <= _options.WindowPixels)
            {
                break;
            }

            pixelsAfter -= e.Count;
            evict++;
        }

        ulong oldestKept = imageId;
        int index = 0;
        foreach (GlzWindowEntry e in _window)
        {
            if (index++ == evict)
            {
                oldestKept = e.Id;
                break;
            }
        }

        var core = new GlzEncoderCore(this, type, n, oldestKept);
        try
        {
            core.LoadSource(pixels, bitmap, bpp);
            var w = new LzWriter(destination);
            Span<byte> headerBytes = stackalloc byte[GlzHeader.Size];
            new GlzHeader(type, bitmap.TopDown, bitmap.Width, bitmap.Height, stride, imageId, (uint)(imageId - oldestKept)).Write(headerBytes);
            foreach (byte b in headerBytes)
            {
                w.Put(b);
            }

            core.Pass(ref w, alpha: false);
            if (type == LzImageType.Rgba)
            {
                core.Pass(ref w, alpha: true);
            }

            if (w.Overflow)
            {
                return OperationStatus.DestinationTooSmall;
            }

            for (int i = 0; i < evict; i++)
            {
                GlzWindowEntry old = _window.Dequeue();
                _byId.Remove(old.Id);
                _windowPixels -= old.Count;
                ArrayPool<uint>.Shared.Return(old.Pixels);
            }

            var entry = new GlzWindowEntry(imageId, core.TakeDecoded(), n);
            _window.Enqueue(entry);
            _byId.Add(imageId, entry);
            _windowPixels += n;
            _nextId++;
            written = w.Position;
            return OperationStatus.Done;
        }
        finally
        {
            core.Dispose();
        }
    }

    /// <summary>The client's reconstruction of image <paramref name="id"/> as this dictionary mirrors it (tests).</summary>
    internal ReadOnlySpan<uint> MirroredPixels(ulong id) => _byId.TryGetValue(id, out GlzWindowEntry e) ? e.Pixels.AsSpan(0, e.Count) : default;

    /// <summary>Forgets every image and restarts ids at <paramref name="nextId"/> (a new client dictionary).</summary>
    public void Reset(ulong nextId = 0)
    {
        Dispose();
        Array.Clear(_rgbHash);
        Array.Clear(_alphaHash);
        _nextId = nextId;
    }

    public void Dispose()
    {
        while (_window.TryDequeue(out GlzWindowEntry e))
        {
            ArrayPool<uint>.Shared.Return(e.Pixels);
        }

        _byId.Clear();
        _windowPixels = 0;
    }

    /// <summary>The images the client still holds, oldest first (the encoder core reads them).</summary>
    internal Queue<GlzWindowEntry> Window => _window;

    internal ulong[] RgbHash => _rgbHash;

    internal ulong[] AlphaHash => _alphaHash;

    internal bool TryGetImage(ulong id, out GlzWindowEntry entry) => _byId.TryGetValue(id, out entry);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int Hash3(uint a, uint b, uint c) => (int)(((a * 0x9E3779B1u) ^ (b * 0x85EBCA77u) ^ (c * 0xC2B2AE3Du)) >> _hashShift);

    private readonly record struct Entry(ulong Id, uint[] Pixels, int Count);
}

/// <summary>An image in the client's GLZ window as this side mirrors it: its id and the client's reconstruction.</summary>
internal readonly record struct GlzWindowEntry(ulong Id, uint[] Pixels, int Count);
