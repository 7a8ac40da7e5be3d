using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Accel.Core.Relay.Compression;
using Accel.Core.Tests.Relay.Resume;
using Accel.Core.Tests.TestSupport;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;

namespace Accel.Core.Tests.Relay.Compression;

/// <summary>
/// LZ4 on the WAN for control and bulk channels (issue #12 item 4): every byte comes back once and in order whatever the
/// write sizes, text shrinks, incompressible data costs only the block headers and stops being tried, and malformed
/// blocks fail with a clear error instead of decoding anything.
/// </summary>
public sealed class WanCodecTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Agent-like text (clipboard, a file being copied): repetitive lines with changing numbers.</summary>
    private static byte[] Text(int length)
    {
        var sb = new StringBuilder();
        for (int i = 0; sb.Length < length; i++)
        {
            sb.Append("VD_AGENT_CLIPBOARD line ").Append(i).Append(": the quick brown fox jumps over the lazy dog, ").Append(i * 7919 % 1000).Append('\n');
        }

        return Encoding.ASCII.GetBytes(sb.ToString(0, length));
    }

    private static List<byte[]> Writes(byte[] data, int seed)
    {
        var random = new Random(seed);
        var writes = new List<byte[]>();
        for (int at = 0; at < data.Length;)
        {
            int n = Math.Min(data.Length - at, random.Next(4) switch { 0 => random.Next(1, 16), 1 => random.Next(16, 4096), 2 => random.Next(4096, 70_000), _ => random.Next(70_000, 200_000) });
            writes.Add(data[at..(at + n)]);
            at += n;
        }

        return writes;
    }

    /// <summary>Encodes the writes with one codec, decodes the blocks with another; returns the wire bytes.</summary>
    private static (byte[] Decoded, int Wire) RoundTrip(IEnumerable<byte[]> writes, bool compress = true)
    {
        using var encoder = new WanCodec(compress, 1);
        using var decoder = new WanCodec(compress: false, 1);
        var wire = new MemoryStream();
        foreach (var w in writes)
        {
            var buffer = new byte[WanCodec.MaxEncodedLength(w.Length)];
            wire.Write(buffer, 0, encoder.Encode(w, buffer));
        }

        var bytes = wire.ToArray();
        var decoded = new MemoryStream();
        var block = new byte[WanCodec.BlockSize];
        for (int at = 0; at < bytes.Length;)
        {
            Assert.True(WanCodec.TryReadHeader(bytes.AsSpan(at), out byte kind, out int length), $"a bad header at {at}");
            decoded.Write(block, 0, decoder.Decode(kind, bytes.AsSpan(at + WanCodec.HeaderLength, length), block));
            at += WanCodec.HeaderLength + length;
        }

        return (decoded.ToArray(), bytes.Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Text_AnyWriteSizes_EveryByteBackInOrder_AndSmaller(int seed)
    {
        var data = Text(3 * 1024 * 1024);
        var (decoded, wire) = RoundTrip(Writes(data, seed));
        Assert.Equal(data, decoded);
        Assert.True(wire < data.Length / 3, $"text went as {wire} bytes for {data.Length}");
    }

    [Fact]
    public void SmallMessagesOfAQuietChannel_GoStored_UntilTheChannelCarriedEnough()
    {
        var data = Text(WanCodec.LazyBytes - 1);
        var (decoded, wire) = RoundTrip(Writes(data, 4));
        Assert.Equal(data, decoded);
        Assert.Equal(data.Length + (WanCodec.HeaderLength * Writes(data, 4).Count), wire);
    }

    [Fact]
    public void RandomData_CostsOnlyHeaders_AndIsNotTriedAfterAWindow()
    {
        var data = RandomNumberGenerator.GetBytes(8 * 1024 * 1024);
        var writes = Enumerable.Range(0, data.Length / 8192).Select(i => data[(i * 8192)..((i + 1) * 8192)]).ToList();
        var (decoded, wire) = RoundTrip(writes);
        Assert.Equal(data, decoded);
        Assert.Equal(data.Length + (WanCodec.HeaderLength * writes.Count), wire);

        // Text after the random data: compressed again once the retry distance is behind.
        var text = Text(WanCodec.RetryAfterBytes);
        var (mixed, mixedWire) = RoundTrip(writes.Append(text).Append(text));
        Assert.Equal([.. data, .. text, .. text], mixed);
        Assert.True(mixedWire < wire + (1.5 * text.Length), $"the text after random data went as {mixedWire - wire} bytes for {2 * text.Length}");
    }

    [Fact]
    public void CompressionOff_SendsStoredBlocks_ThatAnyCodecReads()
    {
        var data = Text(300_000);
        var (decoded, wire) = RoundTrip(Writes(data, 5), compress: false);
        Assert.Equal(data, decoded);
        Assert.True(wire > data.Length);
    }

    [Theory]
    [InlineData(3, 10)]                 // an unknown kind
    [InlineData(0, 0)]                  // an empty block
    [InlineData(2, 0xFFFFFF)]           // longer than any block may be
    public void BadHeader_IsRefused(byte kind, int length)
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(header, ((uint)kind << 24) | (uint)length);
        Assert.False(WanCodec.TryReadHeader(header, out _, out _));
    }

    [Fact]
    public void StoredBlockLargerThanABlock_OrCorruptLz4_FailsClearly()
    {
        using var codec = new WanCodec(compress: false, 1);
        var block = new byte[WanCodec.BlockSize];
        var big = new byte[WanCodec.BlockSize + 1];
        Assert.Throws<InvalidDataException>(() => codec.Decode(2, big, new byte[big.Length]));

        // An LZ4 block that claims a match far behind a history it does not have.
        byte[] corrupt = [0x0F, 0xFF, 0xFF, 0xFF, 0x10, 0xFF, 0xFF];
        var ex = Assert.Throws<InvalidDataException>(() => codec.Decode(0, corrupt, block));
        Assert.Contains("WAN compression", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lz4Bomb_IsRefused_NothingDecodedBeyondOneBlock()
    {
        // 310 bytes that would decode to ~79 000: one literal, then a match of it repeated (offset 1) whose length
        // runs over 300 extension bytes, then the closing literals LZ4 asks for.
        var bomb = new List<byte> { 0x1F, 0x41, 0x01, 0x00 };
        bomb.AddRange(Enumerable.Repeat((byte)0xFF, 310));
        bomb.AddRange([0x00, 0x50, 1, 2, 3, 4, 5]);
        using var codec = new WanCodec(compress: false, 1);
        var block = new byte[WanCodec.BlockSize];
        Assert.Throws<InvalidDataException>(() => codec.Decode(0, bomb.ToArray(), block));

        // The same shape within a block decodes (the refusal above is the bound, not the shape).
        var fits = new List<byte> { 0x1F, 0x41, 0x01, 0x00 };
        fits.AddRange(Enumerable.Repeat((byte)0xFF, 200));
        fits.AddRange([0x00, 0x50, 1, 2, 3, 4, 5]);
        using var other = new WanCodec(compress: false, 1);
        int n = other.Decode(0, fits.ToArray(), block);
        Assert.Equal(1 + 19 + (200 * 255) + 5, n);
        Assert.All(block[..(n - 5)], static b => Assert.Equal(0x41, b));
    }

    [Fact]
    public async Task OverARealStream_BothWays_TruncatedBlockFailsTheRead()
    {
        var engine = new Ngtcp2Engine();
        await using var listener = await engine.ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = TestIdentities.Server,
            PeerTrust = TestIdentities.Pin(TestIdentities.Client),
        }, Ct);
        var (client, server) = await ResumableStreamTests.ConnectAsync(engine, listener);
        await using (client)
        await using (server)
        {
            var clientInner = await client.OpenStreamAsync(StreamDirection.Bidirectional, 3, Ct);
            await using var up = new WanCompressedStream(clientInner, new WanCodec(true, 1), default);
            var data = Text(2 * 1024 * 1024);
            var writes = Writes(data, 6);
            var writing = Task.Run(async () =>
            {
                foreach (var w in writes)
                {
                    await up.WriteAsync(w, false, Ct);
                }

                // A block cut short: its header promises more than the stream carries.
                await clientInner.WriteAsync(new byte[] { 100, 0, 0, 2, 1, 2, 3 }, completeWrites: true, Ct);
            }, Ct);
            var serverInner = await server.AcceptStreamAsync(Ct).AsTask().WaitAsync(s_timeout, Ct);
            await using var down = new WanCompressedStream(serverInner, new WanCodec(true, 1), default);
            var received = new MemoryStream();
            var buffer = new byte[3000];
            var ex = await Assert.ThrowsAsync<InvalidDataException>(async () =>
            {
                for (int n; (n = await down.ReadAsync(buffer, Ct).AsTask().WaitAsync(s_timeout, Ct)) > 0;)
                {
                    received.Write(buffer, 0, n);
                }
            });
            await writing.WaitAsync(s_timeout, Ct);
            Assert.Contains("ended inside a block", ex.Message, StringComparison.Ordinal);
            Assert.Equal(data, received.ToArray());
            Assert.True(clientInner.AcknowledgedBytes < data.Length / 3, $"{clientInner.AcknowledgedBytes} bytes on the wire for {data.Length}");
        }
    }
}
