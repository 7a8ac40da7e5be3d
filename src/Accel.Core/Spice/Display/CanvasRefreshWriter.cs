using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Canvas;
using Spice.Codecs;
using Spice.Codecs.Glz;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Display;

/// <summary>
/// Writes DRAW_COPY messages whose source image is a rectangle of the server edge's canvas: QUIC for photo-like pixels
/// (the transcoder's choice, <see cref="DisplayTranscoder.IsPhotoLike"/>), or JPEG at a given quality when the caller
/// allows lossy; others as GLZ (zlib-wrapped where that is smaller, as spice-server does on slow links) when the caller
/// owns the client's GLZ stream (<see cref="ClientDisplayState.EdgeGlz"/>): text refreshed again and again matches what
/// earlier refreshes sent; LZ_RGB otherwise. Rop PUT, no clip, no mask, no cache flags. Only 32-bit surfaces (the alpha byte is
/// not sent: 32BIT, not RGBA).
/// </summary>
internal static class CanvasRefreshWriter
{
    /// <summary>JPEG qualities the refresh uses (<see cref="QualityFor"/>), best first.</summary>
    public static readonly int[] Ladder = [85, 75, 60, 45, 30];

    /// <summary>Delivery rates (bytes/s) from which each step of <see cref="Ladder"/> is used (the last: below the one before).</summary>
    private static readonly long[] s_ladderRates = [2_500_000, 1_200_000, 600_000, 300_000, 0];

    private static readonly SpiceImageEncoderOptions[] s_ladderOptions = Array.ConvertAll(Ladder, q => new SpiceImageEncoderOptions { JpegQuality = q });

    private static readonly SpiceImageEncoderOptions s_glzOptions = new() { ZlibWrapGlz = true };

    /// <summary>DisplayBase (21) + src pointer (4) + src_area (16) + rop (2) + scale mode (1) + QMask (13).</summary>
    private const int FixedLength = 57;
    private const ushort DrawCopy = DisplayDrawMessage.DrawCopy;

    /// <summary>Whether a surface of this pixman format can be refreshed (32 bpp).</summary>
    public static bool Supports(PixmanImage surface) => surface.Bpp == 32;

    /// <summary>The JPEG quality for a path delivering <paramref name="bytesPerSecond"/>: 85 from 20 Mbit/s down to 30 below 2.4 Mbit/s.</summary>
    public static int QualityFor(long bytesPerSecond)
    {
        int i = 0;
        while (bytesPerSecond < s_ladderRates[i])
        {
            i++;
        }

        return Ladder[i];
    }

    /// <summary>
    /// Writes one DRAW_COPY (mini header and body) of <paramref name="rect"/> (inside the surface). Photo-like pixels
    /// go as JPEG at <paramref name="jpegQuality"/> (a step of <see cref="Ladder"/>; 0: lossless QUIC), others as
    /// GLZ in <paramref name="glz"/> (the client's GLZ stream, if the caller owns it) or LZ_RGB. Returns the bytes written;
    /// <paramref name="lossy"/> tells whether JPEG was used.
    /// </summary>
    public static long Write(IBufferWriter<byte> output, uint surfaceId, PixmanImage surface, DamageRect rect, int jpegQuality, out bool lossy,
        GlzEncoderDictionary? glz = null)
    {
        int width = rect.Width, height = rect.Height;
        int rowBytes = width * 4;
        int pixelsLength = rowBytes * height;
        byte[] pixels = ArrayPool<byte>.Shared.Rent(pixelsLength);
        byte[]? encoded = null;
        try
        {
            for (int y = 0; y < height; y++)
            {
                surface.Row(rect.Top + y).Slice(rect.Left * 4, rowBytes).CopyTo(pixels.AsSpan(y * rowBytes, rowBytes));
            }

            var source = pixels.AsSpan(0, pixelsLength);
            var bitmap = new BitmapDescriptor(width, height, rowBytes, SpiceBitmapFormat.ThirtyTwoBit);
            bool photo = DisplayTranscoder.IsPhotoLike(source, width, height);
            int step = Array.IndexOf(Ladder, jpegQuality);
            lossy = photo && step >= 0;
            glz = photo || glz?.CanEncode(width, height) != true ? null : glz;
            var type = lossy ? SpiceImageType.Jpeg : photo ? SpiceImageType.Quic : glz is not null ? SpiceImageType.GlzRgb : SpiceImageType.LzRgb;
            var options = lossy ? s_ladderOptions[step] : glz is not null ? s_glzOptions : null;
            encoded = ArrayPool<byte>.Shared.Rent(SpiceImageEncoder.GetMaxPayloadLength(type, width, height, bitmap.Format));
            if (SpiceImageEncoder.Encode(type, source, bitmap, encoded, out int written, out var actual, glz, options) != OperationStatus.Done)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"the canvas refresh of {width}x{height} did not encode as {type}");
            }

            if (glz is not null)
            {
                DisplayCanvasMetrics.GlzRects.Add(1);
            }

            int bodyLength = FixedLength + SpiceImageDescriptor.Size + written;
            var s = output.GetSpan(6 + bodyLength);
            BinaryPrimitives.WriteUInt16LittleEndian(s, DrawCopy);
            BinaryPrimitives.WriteUInt32LittleEndian(s[2..], (uint)bodyLength);
            var b = s.Slice(6, bodyLength);
            b.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(b, surfaceId);
            WriteRect(b[4..], rect.Left, rect.Top, rect.Right, rect.Bottom);
            // b[20] = clip type NONE.
            BinaryPrimitives.WriteUInt32LittleEndian(b[21..], FixedLength);
            WriteRect(b[25..], 0, 0, width, height);
            BinaryPrimitives.WriteUInt16LittleEndian(b[41..], DisplayDrawMessage.RopPut);
            // b[43] scale mode, b[44..57] QMask: none.
            new SpiceImageDescriptor(0, actual, 0, (uint)width, (uint)height).Write(b[FixedLength..]);
            encoded.AsSpan(0, written).CopyTo(b[(FixedLength + SpiceImageDescriptor.Size)..]);
            output.Advance(6 + bodyLength);
            return 6 + bodyLength;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(pixels);
            if (encoded is not null)
            {
                ArrayPool<byte>.Shared.Return(encoded);
            }
        }
    }

    /// <summary>SpiceRect on the wire: top, left, bottom, right.</summary>
    private static void WriteRect(Span<byte> s, int left, int top, int right, int bottom)
    {
        BinaryPrimitives.WriteInt32LittleEndian(s, top);
        BinaryPrimitives.WriteInt32LittleEndian(s[4..], left);
        BinaryPrimitives.WriteInt32LittleEndian(s[8..], bottom);
        BinaryPrimitives.WriteInt32LittleEndian(s[12..], right);
    }
}
