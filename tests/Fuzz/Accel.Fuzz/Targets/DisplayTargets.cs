using System.Buffers;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol;

namespace Accel.Fuzz.Targets;

/// <summary>
/// The display channel: the draw-message parser the transcoder uses, the transcoder itself, and the canvas (one target
/// per server → client message type it applies, plus a sequence target). Invalid data: <see cref="SpiceProtocolException"/>.
/// </summary>
internal static class DisplayTargets
{
    private const ushort SurfaceCreate = 314;
    private const ushort StreamCreate = 122;

    // The canvas's limits, cut down so one input cannot make a run take seconds (the product's caps are larger; the
    // code paths are the same).
    private static readonly CanvasLimits s_limits = new()
    {
        MaxSurfaces = 16, MaxDimension = 2048, MaxSurfacePixels = 1024 * 1024, MaxImagePixels = 1024 * 1024,
        DefaultImageCachePixels = 1024 * 1024, MaxImageCachePixels = 1024 * 1024, MaxPalettes = 64, MaxStreams = 8,
    };

    private static readonly (string Name, ushort Type)[] s_canvasTypes =
    [
        ("surface-create", SurfaceCreate), ("surface-destroy", 315), ("copy-bits", 104), ("inval-list", 105), ("inval-palette", 107),
        ("fill", DrawTypes.Fill), ("opaque", DrawTypes.Opaque), ("copy", DrawTypes.Copy), ("blend", DrawTypes.Blend),
        ("blackness", DrawTypes.Blackness), ("whiteness", DrawTypes.Whiteness), ("invers", DrawTypes.Invers), ("rop3", DrawTypes.Rop3),
        ("stroke", DrawTypes.Stroke), ("text", DrawTypes.Text), ("transparent", DrawTypes.Transparent), ("alpha-blend", DrawTypes.AlphaBlend),
        ("composite", DrawTypes.Composite), ("stream-create", StreamCreate), ("stream-data", 123), ("stream-clip", 124),
        ("stream-destroy", 125), ("stream-data-sized", 316),
    ];

    public static IEnumerable<FuzzTarget> All
    {
        get
        {
            yield return new("display-draw", "DisplayDrawMessage.TryParse of every draw type, then Write and parse again (round trip)", DrawMessage, DisplaySeeds.DrawWithSelector);
            yield return new("transcoder", "DisplayTranscoder.Transcode (each codec) of every draw type; its output must parse", Transcode, DisplaySeeds.Transcoder);
            yield return new("canvas", "DisplayCanvas: a sequence of (u16 type, u16 size, body) messages on a 64x64 primary surface", CanvasSequence, DisplaySeeds.Sequences);
            foreach (var (name, type) in s_canvasTypes)
            {
                yield return new("canvas-" + name, $"DisplayCanvas.Apply of message type {type} on a 64x64 primary surface", input => CanvasOne(type, input), () => DisplaySeeds.ForType(type));
            }
        }
    }

    /// <summary>u8 type selector (302..313, 318), then the body.</summary>
    private static void DrawMessage(ReadOnlySpan<byte> input)
    {
        ushort type = DisplaySeeds.DrawType(FuzzInput.TakeU8(ref input));
        try
        {
            if (!DisplayDrawMessage.TryParse(type, input, out var message))
            {
                return;
            }

            var output = new ArrayBufferWriter<byte>();
            Span<DisplayImageReplacement> keep = stackalloc DisplayImageReplacement[DisplayImageRefs.MaxImages];
            message.Write(input, keep[..message.Count], default, output);
            if (output.WrittenCount != message.GetWrittenLength(keep[..message.Count]))
            {
                throw new InvalidOperationException($"Write wrote {output.WrittenCount} bytes, GetWrittenLength said {message.GetWrittenLength(keep[..message.Count])}");
            }

            Reparse(type, output.WrittenSpan, message.Count);
        }
        catch (SpiceProtocolException)
        {
        }
    }

    /// <summary>u8 codec selector, u8 type selector, then the body.</summary>
    private static void Transcode(ReadOnlySpan<byte> input)
    {
        var codec = (DisplayCodec)(1 + (FuzzInput.TakeU8(ref input) % 6));
        ushort type = DisplaySeeds.DrawType(FuzzInput.TakeU8(ref input));
        using var transcoder = new DisplayTranscoder(codec, maxMessage: 4 * 1024 * 1024);
        var output = new ArrayBufferWriter<byte>();
        try
        {
            long written = transcoder.Transcode(type, input, output);
            if (written != output.WrittenCount || written < 6)
            {
                throw new InvalidOperationException($"Transcode returned {written}, wrote {output.WrittenCount}");
            }
        }
        catch (SpiceProtocolException)
        {
            return;
        }

        // What the transcoder sends must be a draw message the client (and this parser) reads.
        DisplayDrawMessage.TryParse(type, output.WrittenSpan[6..], out _);
    }

    private static void Reparse(ushort type, ReadOnlySpan<byte> body, int count)
    {
        if (!DisplayDrawMessage.TryParse(type, body, out var again) || again.Count != count)
        {
            throw new InvalidOperationException("a re-marshalled draw message does not parse to the same images");
        }
    }

    private static DisplayCanvas NewCanvas(bool primary)
    {
        var canvas = new DisplayCanvas(s_limits);
        if (primary)
        {
            canvas.Apply(SurfaceCreate, DisplaySeeds.Primary);
        }

        return canvas;
    }

    private static void CanvasOne(ushort type, ReadOnlySpan<byte> input)
    {
        using var canvas = NewCanvas(primary: type != SurfaceCreate);
        try
        {
            if (type is 123 or 124 or 125 or 316)
            {
                canvas.Apply(StreamCreate, DisplaySeeds.StreamCreateBody);
            }

            canvas.Apply(type, input);
        }
        catch (SpiceProtocolException)
        {
        }
    }

    private static void CanvasSequence(ReadOnlySpan<byte> input)
    {
        using var canvas = NewCanvas(primary: true);
        try
        {
            while (input.Length >= 4)
            {
                ushort type = FuzzInput.TakeU16(ref input);
                int size = Math.Min(FuzzInput.TakeU16(ref input), input.Length);
                canvas.Apply(type, input[..size]);
                input = input[size..];
            }
        }
        catch (SpiceProtocolException)
        {
        }
    }
}
