using System.Buffers;
using Accel.Core.Spice;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using Spice.Codecs;
using Spice.Codecs.Glz;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice.Display;

/// <summary>
/// A real Xspice with each image-compression setting: every image in its draw messages must decode with Spice.Codecs,
/// and the server-edge transcoder's output (LZ4) must decode to the same pixels.
/// </summary>
[Collection(DisplayMetricsCollection.Name)]
public sealed class XspiceDisplayDecodeTests
{
    private static readonly SpiceCapabilitySet s_commonCaps = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);

    [Theory]
    [InlineData("quic", "never", "never")]
    [InlineData("lz", "never", "never")]
    [InlineData("glz", "never", "never")]
    [InlineData("auto_glz", "never", "never")]
    [InlineData("quic", "always", "never")]
    [InlineData("glz", "never", "always")]
    public async Task DrawImages_EachServerCompression_AllDecodeAndTranscodeLosslessly(string compression, string jpegWan, string zlibGlzWan)
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new Dictionary<string, string>
        {
            ["SpiceImageCompression"] = compression,
            ["SpiceJpegWanCompression"] = jpegWan,
            ["SpiceZlibGlzWanCompression"] = zlibGlzWan,
        };
        await using var server = await XspiceServer.StartAsync(options, ct).WaitAsync(TimeSpan.FromSeconds(40), ct);
        await using var main = await SpiceTestChannel.LinkAsync(
            server.EndPoint, new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_commonCaps, SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid)), ct)
            .WaitAsync(TimeSpan.FromSeconds(20), ct);
        uint sessionId = 0;
        await main.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                if (m.Type == (ushort)SpiceMainMsg.Init)
                {
                    sessionId = SpiceMainInit.Parse(m.Body).SessionId;
                    return true;
                }

                return false;
            },
            TimeSpan.FromSeconds(20),
            ct);

        main.Writer.Write(main.Output, new SpiceEmptyMessage((ushort)SpiceMainMsgc.AttachChannels));
        await main.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
        await main.ReadUntilAsync((in SpiceMessage m) => m.Type == (ushort)SpiceMainMsg.ChannelsList, TimeSpan.FromSeconds(20), ct);

        var displayCaps = SpiceCapabilitySet.Of((int)SpiceDisplayCap.SizedStream, (int)SpiceDisplayCap.MonitorsConfig, (int)SpiceDisplayCap.Composite,
            (int)SpiceDisplayCap.A8Surface, (int)SpiceDisplayCap.Lz4Compression, (int)SpiceDisplayCap.PrefCompression);
        await using var display = await SpiceTestChannel.LinkAsync(server.EndPoint, new SpiceLinkMess(sessionId, SpiceChannelType.Display, 0, s_commonCaps, displayCaps), ct)
            .WaitAsync(TimeSpan.FromSeconds(20), ct);
        display.Writer.Write(display.Output, SpiceDisplayInit.SpiceGtkDefault);
        await display.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);

        var responder = new ServerLegAckResponder();
        using var window = new GlzDecoderWindow();
        using var transcoder = new DisplayTranscoder(DisplayCodec.Lz4, 16 << 20);
        using var clientWindow = new GlzDecoderWindow();
        var types = new Dictionary<SpiceImageType, int>();
        var messageTypes = new HashSet<ushort>();
        int decoded = 0;
        long bytesIn = 0;
        long bytesOut = 0;
        bool started = false;
        await display.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                responder.WriteReplies(responder.OnServerMessage(m.Type, m.Body), display.Writer, display.Output);
                messageTypes.Add(m.Type);
                if (m.Type == (ushort)SpiceDisplayMsg.Mark && !started)
                {
                    started = true;
                    server.StartClient("xterm", "-geometry", "80x30+0+0", "-hold", "-e", "seq", "1", "50000");
                    server.StartClient("xlogo", "-geometry", "300x300+500+100");
                    server.StartClient("xeyes", "-geometry", "200x200+500+450");
                }

                if (!DisplayDrawMessage.IsDrawWithImages(m.Type))
                {
                    return false;
                }

                var body = m.Body.ToArray();
                Assert.True(DisplayDrawMessage.TryParse(m.Type, body, out var parsed), $"message {m.Type} not understood");
                var originals = new byte[parsed.Count][];
                for (int i = 0; i < parsed.Count; i++)
                {
                    var image = parsed[i];
                    if (image.Role >= DisplayImageRole.Path)
                    {
                        continue;
                    }

                    types[image.Descriptor.Type] = types.GetValueOrDefault(image.Descriptor.Type) + 1;
                    if (IsDecodable(image, body))
                    {
                        originals[i] = DisplayTranscoderTests.DecodeImage(body, image, window);
                        decoded++;
                        bytesIn += image.PayloadLength;
                    }
                }

                var output = new ArrayBufferWriter<byte>();
                transcoder.Transcode(m.Type, body, output);
                var outBody = output.WrittenSpan[6..].ToArray();
                Assert.True(DisplayDrawMessage.TryParse(m.Type, outBody, out var rewritten));
                Assert.Equal(parsed.Count, rewritten.Count);
                for (int i = 0; i < rewritten.Count; i++)
                {
                    var image = rewritten[i];
                    Assert.Equal(parsed[i].Role, image.Role);
                    Assert.Equal(parsed[i].Descriptor.Id, image.Descriptor.Id);
                    Assert.NotEqual(SpiceImageType.GlzRgb, image.Descriptor.Type);
                    if (originals[i] is not null && image.Descriptor.Type != SpiceImageType.Jpeg)
                    {
                        bytesOut += image.PayloadLength;
                        Assert.Equal(originals[i], DisplayTranscoderTests.DecodeImage(outBody, image, clientWindow));
                    }
                }

                return started && decoded >= 60;
            },
            TimeSpan.FromSeconds(45),
            ct);

        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{compression}/jpeg {jpegWan}/zlib {zlibGlzWan}: images {string.Join(", ", types.Select(t => $"{t.Key}={t.Value}"))}; decoded {decoded}; " +
            $"payload {bytesIn} B from the server, {bytesOut} B after LZ4 re-encoding; message types {string.Join(',', messageTypes.Order())}");
        Assert.True(decoded >= 60);
    }

    private static bool IsDecodable(DisplayImageRef image, byte[] body) => image.Descriptor.Type switch
    {
        SpiceImageType.Bitmap => !IsPaletteBitmap(body[image.PayloadOffset]),
        _ => SpiceImageDecoder.Supports(image.Descriptor.Type),
    };

    private static bool IsPaletteBitmap(byte format) => format is >= 1 and <= 5;
}
