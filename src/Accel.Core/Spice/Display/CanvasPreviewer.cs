using System.Buffers;
using Accel.Core.Spice.Canvas;

namespace Accel.Core.Spice.Display;

/// <summary>
/// The server edge's side of display previews (<see cref="DisplayPreviewWire"/>): a small draw's area, read from the
/// canvas that already holds the draw, goes as a datagram, and its marker onto the display stream. Called under the
/// canvas policy's lock.
/// </summary>
internal sealed class CanvasPreviewer(IDisplayPreviewSender sender, TimeProvider time)
{
    /// <summary>Display bytes between the edges below which a preview would not arrive sooner than the stream.</summary>
    public const long Ahead = 4 * 1024;

    /// <summary>Draws up to this many pixels (a few glyphs: an echo) get a preview.</summary>
    private const int MaxPixels = 4096;

    /// <summary>Previews per second at most (token bucket), and the burst.</summary>
    private const double Rate = 100, Burst = 20;

    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private double _tokens = Burst;
    private long _stamp;
    private uint _number;

    public long Sent { get; private set; }

    /// <summary>
    /// Sends the area of a draw on surface 0 as a preview (a lossless DRAW_COPY of the canvas) and writes its marker to
    /// <paramref name="output"/>, before the draw if it is forwarded. Returns the marker's bytes (0: no preview).
    /// </summary>
    public long TryPreview(DisplayCanvas canvas, ClientDisplayState client, ushort type, ReadOnlySpan<byte> body, IBufferWriter<byte> output)
    {
        if (!client.TryGetTarget(type, body, out uint surface, out var box) || surface != 0
            || !canvas.TryGetSurface(0, out var image) || !CanvasRefreshWriter.Supports(image))
        {
            return 0;
        }

        var rect = box.Intersect(image.Width, image.Height);
        int max = sender.MaxMessageLength;
        if (rect.IsEmpty || rect.Area > MaxPixels || max < 128 || !TakeToken())
        {
            return 0;
        }

        _scratch.ResetWrittenCount();
        CanvasRefreshWriter.Write(_scratch, 0, image, rect, 0, out _);
        if (_scratch.WrittenCount > max || !sender.TrySend(++_number, _scratch.WrittenSpan))
        {
            return 0;
        }

        DisplayPreviewWire.WriteMarker(output, _number);
        Sent++;
        DisplayCanvasMetrics.PreviewsSent.Add(1);
        DisplayCanvasMetrics.PreviewBytes.Add(_scratch.WrittenCount + DisplayPreviewWire.DatagramHeaderLength);
        return DisplayPreviewWire.MarkerLength;
    }

    private bool TakeToken()
    {
        long now = time.GetTimestamp();
        if (_stamp != 0)
        {
            _tokens = Math.Min(Burst, _tokens + (now - _stamp) * Rate / time.TimestampFrequency);
        }

        _stamp = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens--;
        return true;
    }
}
