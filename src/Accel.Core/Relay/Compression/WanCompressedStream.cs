using Accel.Core.Transport;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Relay.Compression;

/// <summary>
/// A channel's edge-to-edge stream with <see cref="WanCodec"/> blocks on the wire: writes are encoded (one block per
/// write, cut at <see cref="WanCodec.BlockSize"/>), reads return the decoded bytes. Everything else is the inner stream's
/// (a <see cref="Resume.ResumableStream"/> below it replays compressed bytes, so a resumed channel's blocks continue).
/// One read and one write may be pending at a time, as on every <see cref="ITransportStream"/>.
/// A malformed or truncated block fails the read with <see cref="InvalidDataException"/> (the relay ends the channel as a
/// protocol violation); nothing is decoded beyond <see cref="WanCodec.BlockSize"/> per block.
/// </summary>
internal sealed class WanCompressedStream(ITransportStream inner, WanCodec codec, ReadOnlyMemory<byte> prefix) : DelegatingTransportStream(inner)
{
    private readonly WanCodec _codec = codec;

    private const int InitialBuffer = 4096;

    private ReadOnlyMemory<byte> _prefix = prefix;
    private byte[] _in = new byte[InitialBuffer];
    private int _inStart;
    private int _inEnd;
    private byte[]? _decoded;
    private int _decodedStart;
    private int _decodedEnd;
    private byte[] _out = [];

    /// <summary>Logs what compression did for the channel (event 1209), if <paramref name="stream"/> is compressed.</summary>
    public static void LogSummary(ILogger logger, ITransportStream stream, string channel)
    {
        if (stream is WanCompressedStream { _codec: var c })
        {
            PumpLog.Compression(logger, channel, c.Given, c.Sent, c.Received, c.Decoded);
        }
    }

    /// <summary>The stream below any number of compression layers (for callers that look for what is underneath).</summary>
    public static ITransportStream Unwrap(ITransportStream stream) => stream is WanCompressedStream c ? c.Inner : stream;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_decodedStart == _decodedEnd)
        {
            if (TryDecodeBlock())
            {
                continue;
            }

            if (_inStart > 0 && _inEnd == _in.Length)
            {
                Buffer.BlockCopy(_in, _inStart, _in, 0, _inEnd - _inStart);
                _inEnd -= _inStart;
                _inStart = 0;
            }

            int n;
            if (!_prefix.IsEmpty)
            {
                n = Math.Min(_prefix.Length, _in.Length - _inEnd);
                _prefix.Span[..n].CopyTo(_in.AsSpan(_inEnd));
                _prefix = _prefix[n..];
            }
            else
            {
                n = await Inner.ReadAsync(_in.AsMemory(_inEnd), cancellationToken).ConfigureAwait(false);
            }

            if (n == 0)
            {
                return _inEnd == _inStart ? 0 : throw new InvalidDataException($"WAN compression: the stream ended inside a block ({_inEnd - _inStart} bytes of it)");
            }

            _inEnd += n;
        }

        int take = Math.Min(buffer.Length, _decodedEnd - _decodedStart);
        _decoded.AsSpan(_decodedStart, take).CopyTo(buffer.Span);
        _decodedStart += take;
        return take;
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, bool completeWrites = false, CancellationToken cancellationToken = default)
    {
        int max = WanCodec.MaxEncodedLength(buffer.Length);
        if (_out.Length < max)
        {
            _out = new byte[Math.Max(max, Math.Min(2 * _out.Length, WanCodec.MaxEncodedLength(WanCodec.BlockSize)))];
        }

        int n = buffer.IsEmpty ? 0 : _codec.Encode(buffer.Span, _out);
        await Inner.WriteAsync(_out.AsMemory(0, n), completeWrites, cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        await Inner.DisposeAsync().ConfigureAwait(false);
        _codec.Dispose();
    }

    /// <summary>Decodes the next whole block in the input buffer, growing the buffer to the block's size if it is not whole yet.</summary>
    private bool TryDecodeBlock()
    {
        int available = _inEnd - _inStart;
        if (available < WanCodec.HeaderLength)
        {
            return false;
        }

        if (!WanCodec.TryReadHeader(_in.AsSpan(_inStart), out byte kind, out int length))
        {
            throw new InvalidDataException($"WAN compression: a bad block header ({BitConverter.ToString(_in, _inStart, WanCodec.HeaderLength)})");
        }

        int whole = WanCodec.HeaderLength + length;
        if (available < whole)
        {
            if (_in.Length < whole)
            {
                var grown = new byte[Math.Max(whole, Math.Min(2 * _in.Length, WanCodec.HeaderLength + WanCodec.MaxPayload))];
                Buffer.BlockCopy(_in, _inStart, grown, 0, available);
                _in = grown;
                _inEnd = available;
                _inStart = 0;
            }

            return false;
        }

        // Room for what the block decodes to: a stored block's own length, an LZ4 block's up to BlockSize (a quiet
        // channel's few stored bytes allocate no 64 KiB).
        int room = kind == WanCodec.KindLz4 ? WanCodec.BlockSize : length;
        if (_decoded is null || _decoded.Length < room)
        {
            _decoded = new byte[Math.Max(room, Math.Min(2 * (_decoded?.Length ?? 0), WanCodec.BlockSize))];
        }

        _decodedEnd = _codec.Decode(kind, _in.AsSpan(_inStart + WanCodec.HeaderLength, length), _decoded);
        _decodedStart = 0;
        _inStart += whole;
        if (_inStart == _inEnd)
        {
            _inStart = _inEnd = 0;
        }

        return true;
    }
}
