using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Canvas;
using Spice.Codecs;

namespace Accel.Core.Spice.Display;

/// <summary>
/// The server edge's side of display previews (<see cref="DisplayPreviewWire"/>): a small draw's area, read from the
/// canvas that already holds the draw, goes as a datagram, and its marker onto the display stream. Called under the
/// canvas policy's lock.
/// <para>
/// A preview reaches remote-viewer before older stream messages still on their way. Those that only write its area are
/// harmless (the previewed draw is absorbed, so a refresh of its area follows its marker); those that <b>read</b> its
/// area to write elsewhere — COPY_BITS' source, a draw with a SURFACE image — would copy the preview's pixels instead
/// of the ones they were meant to read. So every such forwarded read is remembered with the barrier marker written
/// after it, and a preview of an area one of them reads carries that barrier: the client edge holds it until the
/// stream has delivered the barrier (<see cref="DisplayPreviewWire"/>).
/// </para>
/// </summary>
internal sealed class CanvasPreviewer(IDisplayPreviewSender sender, TimeProvider time)
{
    /// <summary>Display bytes between the edges below which a preview would not arrive sooner than the stream.</summary>
    public const long Ahead = 4 * 1024;

    /// <summary>Previews per second at most (token bucket), and the burst.</summary>
    private const double Rate = 100, Burst = 20;

    /// <summary>Forwarded reads remembered; an older one is forgotten but its barrier stays required (see <see cref="_forgotten"/>).</summary>
    private const int MaxReads = 32;

    private readonly ArrayBufferWriter<byte> _scratch = new(2048);
    private readonly DrawHeat _heat = new(time.TimestampFrequency);
    private readonly (DamageRect Area, uint Barrier)[] _reads = new (DamageRect, uint)[MaxReads];
    private int _readCount, _readNext;
    private bool _barrierPending;
    private uint _forgotten;
    private double _tokens = Burst;
    private long _stamp;
    private uint _number;

    public long Sent { get; private set; }

    /// <summary>Barrier markers written.</summary>
    public long Barriers { get; private set; }

    /// <summary>Previews sent to be held until a barrier passed.</summary>
    public long SentAfterBarrier { get; private set; }

    /// <summary>
    /// Writes the barrier marker owed by forwarded reads since the last call (call before anything else is written for
    /// a message, so the barrier lies as close behind the reads as possible). Returns its bytes (0: none owed).
    /// </summary>
    public long FlushBarrier(IBufferWriter<byte> output)
    {
        if (!_barrierPending)
        {
            return 0;
        }

        _barrierPending = false;
        uint barrier = ++_number;
        for (int i = 0; i < _readCount; i++)
        {
            ref var read = ref _reads[i];
            if (read.Barrier == 0)
            {
                read.Barrier = barrier;
            }
        }

        DisplayPreviewWire.WriteMarker(output, barrier);
        Barriers++;
        return DisplayPreviewWire.MarkerLength;
    }

    /// <summary>
    /// A pixel message goes to the client: if it reads surface 0 anywhere but pointwise under its own box (COPY_BITS'
    /// source; a draw's SURFACE image of surface 0: all of it, to be safe), remember the area; a barrier is owed.
    /// </summary>
    public void OnForwarded(ushort type, ReadOnlySpan<byte> body, in DisplayDrawMessage draw, bool parsed, DamageRect surface0)
    {
        DamageRect read = default;
        if (type == ClientDisplayState.MsgCopyBits)
        {
            if (ClientDisplayState.TryReadCopyBits(body, out uint surface, out var source, out _, out _) && surface == 0)
            {
                read = source;
            }
        }
        else if (parsed)
        {
            for (int i = 0; i < draw.Count; i++)
            {
                var image = draw[i];
                if (image.Role < DisplayImageRole.Path && image.Descriptor.Type == SpiceImageType.Surface
                    && (image.PayloadLength < 4 || BinaryPrimitives.ReadUInt32LittleEndian(body[image.PayloadOffset..]) == 0))
                {
                    read = surface0;
                }
            }
        }

        if (read.IsEmpty)
        {
            return;
        }

        if (_readCount == MaxReads)
        {
            _forgotten = Math.Max(_forgotten, _reads[_readNext].Barrier);
            _reads[_readNext] = (read, 0);
            _readNext = (_readNext + 1) % MaxReads;
        }
        else
        {
            _reads[_readCount++] = (read, 0);
        }

        _barrierPending = true;
    }

    /// <summary>
    /// Sends the area (<paramref name="box"/>) of a draw on surface 0 as a preview (a lossless DRAW_COPY of the canvas) and writes its marker to
    /// <paramref name="output"/>, before the draw if it is forwarded. Returns the marker's bytes (0: no preview).
    /// </summary>
    public long TryPreview(DisplayCanvas canvas, in DamageRect box, IBufferWriter<byte> output)
    {
        if (!canvas.TryGetSurface(0, out var image) || !CanvasRefreshWriter.Supports(image))
        {
            return 0;
        }

        var rect = box.Intersect(image.Width, image.Height);
        int max = sender.MaxMessageLength;
        if (rect.IsEmpty || rect.Area > CanvasRefresher.EchoPixels || max < 128)
        {
            return 0;
        }

        if (_heat.HeatOf(rect, time.GetTimestamp()) > DrawHeat.Hot)
        {
            DisplayCanvasMetrics.PreviewsSkippedHot.Add(1);
            return 0;
        }

        if (!TakeToken())
        {
            return 0;
        }

        uint after = After(rect);
        if (after == uint.MaxValue)
        {
            return 0; // a read forwarded with this very message: no barrier lies between them
        }

        _scratch.ResetWrittenCount();
        CanvasRefreshWriter.Write(_scratch, 0, image, rect, 0, out _);
        if (_scratch.WrittenCount > max || !sender.TrySend(_number + 1, after, _scratch.WrittenSpan))
        {
            return 0;
        }

        DisplayPreviewWire.WriteMarker(output, ++_number);
        Sent++;
        if (after != 0)
        {
            SentAfterBarrier++;
        }

        DisplayCanvasMetrics.PreviewsSent.Add(1);
        DisplayCanvasMetrics.PreviewBytes.Add(_scratch.WrittenCount + (after == 0 ? DisplayPreviewWire.DatagramHeaderLength : DisplayPreviewWire.DatagramAfterHeaderLength));
        return DisplayPreviewWire.MarkerLength;
    }

    /// <summary>A pixel message drew over <paramref name="box"/> of surface 0 (<paramref name="width"/> × <paramref name="height"/>): counted toward its cells' heat.</summary>
    public void OnDrawn(in DamageRect box, int width, int height) => _heat.Touch(box, width, height, time.GetTimestamp());

    /// <summary>The barrier a preview of <paramref name="rect"/> must wait for: the newest of the forwarded reads it overlaps.</summary>
    private uint After(in DamageRect rect)
    {
        uint after = _forgotten;
        for (int i = 0; i < _readCount; i++)
        {
            if (_reads[i].Area.Intersects(rect))
            {
                after = Math.Max(after, _reads[i].Barrier == 0 ? uint.MaxValue : _reads[i].Barrier);
            }
        }

        return after;
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
