using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;
using Accel.Core.Spice.Protocol;
using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Encoders;

namespace Accel.Core.Relay.Compression;

/// <summary>
/// LZ4 on the WAN for the channels whose own messages are not compressed by SPICE's image codecs (issue #12 item 4):
/// main (agent data: clipboard, file copies), playback and record (raw PCM when the client has no Opus), smartcard,
/// usbredir, port and webdav (SpiceVMC data, unless the peers compress it themselves). Display, inputs and cursor are
/// never compressed: their bytes are images the codecs handle, or a few bytes that must not wait.
/// </summary>
/// <remarks>
/// Wire format, each direction of a stream whose request carried <see cref="Edges.EdgeRequest.CompressedFlag"/>, from the
/// first byte after the request (client edge → server edge) and after the answer (server edge → client edge): blocks of
/// <c>header u32 LE | payload</c>, the header's low 24 bits the payload length (1 … <see cref="MaxPayload"/>), its top
/// byte the kind: 0 an LZ4 block (at most <see cref="BlockSize"/> bytes decoded) linked to the 64 KiB before it, 1 a
/// stored block that is part of that history, 2 a stored block outside it. Nothing else: QUIC already authenticates
/// and orders the bytes. A block is written per write of the relay (a flush), so nothing waits for a block to fill.
/// The encoder sends kind 2 until a stream has carried <see cref="LazyBytes"/> (a quiet channel allocates no LZ4 state),
/// and again for <see cref="RetryAfterBytes"/> whenever the last <see cref="JudgeEveryBytes"/> saved less than 5 %
/// ("when it pays": already-compressed audio or SpiceVMC data costs no CPU after the first window).
/// </remarks>
internal sealed class WanCodec : IDisposable
{
    public const int BlockSize = 64 * 1024;
    public const int HeaderLength = 4;
    public const int LazyBytes = 16 * 1024;
    public const int JudgeEveryBytes = 256 * 1024;
    public const int RetryAfterBytes = 4 * 1024 * 1024;

    internal const byte KindLz4 = 0, KindStoredLinked = 1, KindStored = 2;

    /// <summary>Longest payload a block may carry: LZ4's bound for a whole block.</summary>
    public static readonly int MaxPayload = LZ4Codec.MaximumOutputSize(BlockSize);

    private readonly bool _compress;
    private readonly KeyValuePair<string, object?> _channel;
    private ILZ4Encoder? _encoder;
    private ILZ4Decoder? _decoder;
    private long _written;
    private long _storeUntil = LazyBytes;
    private long _judgeIn;
    private long _judgeOut;

    /// <param name="compress">False: this side sends stored blocks only (it still reads what the peer compressed).</param>
    /// <param name="channelType">For the metrics' channel label.</param>
    public WanCodec(bool compress, byte channelType)
    {
        _compress = compress;
        _channel = new("channel", AccelMetrics.ChannelLabel(channelType));
    }

    /// <summary>Bytes given to <see cref="Encode"/>, and the bytes it wrote for them (headers included).</summary>
    public long Given => _written;

    public long Sent { get; private set; }

    /// <summary>Block bytes read (headers included), and the bytes they decoded to.</summary>
    public long Received { get; private set; }

    public long Decoded { get; private set; }

    /// <summary>True for the channel types whose streams are compressed when both edges agree.</summary>
    public static bool Compresses(byte channelType) => (SpiceChannelType)channelType is SpiceChannelType.Main or SpiceChannelType.Playback
        or SpiceChannelType.Record or SpiceChannelType.Smartcard or SpiceChannelType.UsbRedir or SpiceChannelType.Port or SpiceChannelType.WebDav;

    /// <summary>Room <see cref="Encode"/> needs at most for <paramref name="length"/> bytes.</summary>
    public static int MaxEncodedLength(int length)
    {
        int blocks = Math.Max(1, (length + BlockSize - 1) / BlockSize);
        return length + (blocks * (HeaderLength + MaxPayload - BlockSize));
    }

    /// <summary>Encodes <paramref name="data"/> as blocks into <paramref name="destination"/> (≥ <see cref="MaxEncodedLength"/>); returns the bytes written.</summary>
    public int Encode(ReadOnlySpan<byte> data, Span<byte> destination)
    {
        int written = 0;
        while (!data.IsEmpty)
        {
            var chunk = data[..Math.Min(data.Length, BlockSize)];
            data = data[chunk.Length..];
            written += EncodeBlock(chunk, destination[written..]);
        }

        return written;
    }

    /// <summary>
    /// Decodes one block's payload of <paramref name="kind"/> into <paramref name="destination"/> (room for the payload's
    /// length for a stored block, <see cref="BlockSize"/> for an LZ4 block).
    /// Throws <see cref="InvalidDataException"/> for anything this format does not allow.
    /// </summary>
    public int Decode(byte kind, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        int n = DecodeBlock(kind, payload, destination);
        Received += HeaderLength + payload.Length;
        Decoded += n;
        return n;
    }

    private int DecodeBlock(byte kind, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        switch (kind)
        {
            case KindStored when payload.Length <= BlockSize:
                payload.CopyTo(destination);
                return payload.Length;
            case KindStoredLinked when payload.Length <= BlockSize:
                _decoder ??= LZ4Decoder.Create(chaining: true, BlockSize, 0);
                Inject(_decoder, payload);
                payload.CopyTo(destination);
                return payload.Length;
            case KindLz4:
                _decoder ??= LZ4Decoder.Create(chaining: true, BlockSize, 0);
                int n;
                try
                {
                    n = DecodeLinked(_decoder, payload);
                }
                catch (Exception ex) when (ex is not InvalidDataException)
                {
                    throw new InvalidDataException("WAN compression: a corrupt LZ4 block (" + ex.Message + ")", ex);
                }

                if (n <= 0 || n > BlockSize)
                {
                    throw new InvalidDataException($"WAN compression: an LZ4 block decoded to {n} bytes");
                }

                _decoder.Drain(destination, -n, n);
                return n;
            default:
                throw new InvalidDataException($"WAN compression: a block of kind {kind} and {payload.Length} bytes");
        }
    }

    /// <summary>Reads a block header: false if it is not a valid one.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out byte kind, out int length)
    {
        uint value = BinaryPrimitives.ReadUInt32LittleEndian(header);
        kind = (byte)(value >> 24);
        length = (int)(value & 0xFFFFFF);
        return kind <= KindStored && length > 0 && length <= MaxPayload;
    }

    public void Dispose()
    {
        (_encoder as IDisposable)?.Dispose();
        (_decoder as IDisposable)?.Dispose();
        _encoder = null;
        _decoder = null;
    }

    private static unsafe int DecodeLinked(ILZ4Decoder decoder, ReadOnlySpan<byte> payload)
    {
        fixed (byte* source = payload)
        {
            return decoder.Decode(source, payload.Length, BlockSize);
        }
    }

    private static unsafe void Inject(ILZ4Decoder decoder, ReadOnlySpan<byte> payload)
    {
        fixed (byte* source = payload)
        {
            decoder.Inject(source, payload.Length);
        }
    }

    private int EncodeBlock(ReadOnlySpan<byte> chunk, Span<byte> destination)
    {
        byte kind = KindStored;
        int length = chunk.Length;
        if (_compress && _written >= _storeUntil)
        {
            _encoder ??= LZ4Encoder.Create(chaining: true, LZ4Level.L00_FAST, BlockSize, 0);
            var action = _encoder.TopupAndEncode(chunk, destination[HeaderLength..], forceEncode: true, allowCopy: true, out int loaded, out int encoded);
            if (loaded != chunk.Length || action is not (EncoderAction.Encoded or EncoderAction.Copied))
            {
                throw new InvalidOperationException($"LZ4 encoder took {loaded} of {chunk.Length} bytes ({action})");
            }

            kind = action == EncoderAction.Encoded ? KindLz4 : KindStoredLinked;
            length = Math.Abs(encoded);
            Judge(chunk.Length, length);
        }
        else
        {
            chunk.CopyTo(destination[HeaderLength..]);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination, ((uint)kind << 24) | (uint)length);
        _written += chunk.Length;
        WanCompressionMetrics.Input.Add(chunk.Length, _channel);
        WanCompressionMetrics.Output.Add(HeaderLength + length, _channel);
        Sent += HeaderLength + length;
        return HeaderLength + length;
    }

    /// <summary>After every <see cref="JudgeEveryBytes"/> compressed: less than 5 % saved stores the next <see cref="RetryAfterBytes"/>.</summary>
    private void Judge(int input, int output)
    {
        _judgeIn += input;
        _judgeOut += HeaderLength + output;
        if (_judgeIn < JudgeEveryBytes)
        {
            return;
        }

        if (_judgeOut * 100 > _judgeIn * 95)
        {
            _storeUntil = _written + input + RetryAfterBytes;
        }

        _judgeIn = 0;
        _judgeOut = 0;
    }
}

/// <summary>What WAN compression took and sent, by channel (docs/configuration.md, "Metrics").</summary>
internal static class WanCompressionMetrics
{
    public static readonly Counter<long> Input = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.wan_compression.input", "By", "Bytes given to WAN compression (before), by channel");

    public static readonly Counter<long> Output = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.wan_compression.output", "By", "Bytes WAN compression sent for them (after, block headers included), by channel");
}
