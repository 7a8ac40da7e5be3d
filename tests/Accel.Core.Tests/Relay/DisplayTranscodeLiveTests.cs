using System.Buffers;
using Accel.Core.Relay;
using Accel.Core.Spice;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using Accel.Core.Tests.Spice;
using Accel.Core.Tests.Spice.Display;
using Spice.Codecs;
using Spice.Codecs.Glz;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Relay;

/// <summary>
/// A live desktop (xterm scrolling, xlogo, xeyes) on Xspice with its default auto_glz, through an edge pair whose server
/// edge re-encodes: every image the client receives must be of the configured codec's family and decode, GLZ against a
/// client-side window that only ever saw the edge's GLZ stream.
/// </summary>
[Collection(DisplayMetricsCollection.Name)]
public sealed class DisplayTranscodeLiveTests
{
    private static readonly SpiceCapabilitySet s_commonCaps = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);

    [Theory]
    [InlineData(DisplayCodec.Glz)]
    [InlineData(DisplayCodec.Auto)]
    [InlineData(DisplayCodec.Jpeg)]
    public async Task LiveDesktop_ThroughReencodingEdges_EveryImageDecodes(DisplayCodec codec)
    {
        var ct = TestContext.Current.CancellationToken;
        using var photo = PhotoXwd.Create(320, 240);
        await using var xspice = await XspiceServer.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(40), ct);
        using var metrics = new DisplayMetricsRecorder();
        await using var pair = await EdgePair.StartAsync(xspice.Port, new SpiceRelaySettings { DisplayCodec = codec }, ct);

        await using var main = await SpiceTestChannel.LinkAsync(
            pair.EndPoint, new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_commonCaps, SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid)), ct)
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
        await using var display = await SpiceTestChannel.LinkAsync(pair.EndPoint, new SpiceLinkMess(sessionId, SpiceChannelType.Display, 0, s_commonCaps, displayCaps), ct)
            .WaitAsync(TimeSpan.FromSeconds(20), ct);
        display.Writer.Write(display.Output, SpiceDisplayInit.SpiceGtkDefault);
        await display.FlushAsync(ct).WaitAsync(TimeSpan.FromSeconds(10), ct);

        var acks = new ServerLegAckResponder(); // plays the client's side of ACK flow control
        using var window = new GlzDecoderWindow();
        var types = new Dictionary<SpiceImageType, int>();
        int decoded = 0;
        long payload = 0;
        bool started = false;
        bool sawPhoto = false;
        var lossyCached = new HashSet<ulong>();
        await display.ReadUntilAsync(
            (in SpiceMessage m) =>
            {
                acks.WriteReplies(acks.OnServerMessage(m.Type, m.Body), display.Writer, display.Output);
                if (m.Type == (ushort)SpiceDisplayMsg.Mark && !started)
                {
                    started = true;
                    xspice.StartClient("xterm", "-geometry", "80x30+0+0", "-hold", "-e", "seq", "1", "50000");
                    xspice.StartClient("xlogo", "-geometry", "300x300+500+100");
                    xspice.StartClient("xeyes", "-geometry", "200x200+500+450");
                    xspice.StartClient("xwud", "-in", photo.Path, "-geometry", "+20+480");
                }

                if (!DisplayDrawMessage.IsDrawWithImages(m.Type))
                {
                    return false;
                }

                var body = m.Body.ToArray();
                Assert.True(DisplayDrawMessage.TryParse(m.Type, body, out var parsed), $"message {m.Type} not understood");
                for (int i = 0; i < parsed.Count; i++)
                {
                    var image = parsed[i];
                    if (image.Role >= DisplayImageRole.Path)
                    {
                        continue;
                    }

                    var type = image.Descriptor.Type;
                    sawPhoto |= started && image.Descriptor.Width * image.Descriptor.Height >= 300 * 200 && image.Descriptor.Width < 1024;
                    types[type] = types.GetValueOrDefault(type) + 1;
                    if (type is SpiceImageType.Jpeg or SpiceImageType.JpegAlpha && (image.Descriptor.Flags & SpiceImageDescriptor.CacheMe) != 0)
                    {
                        lossyCached.Add(image.Descriptor.Id);
                    }

                    // The client would wait forever for a lossless copy of an image it only has as JPEG.
                    Assert.False(type == SpiceImageType.FromCacheLossless && lossyCached.Contains(image.Descriptor.Id), $"FROM_CACHE_LOSSLESS {image.Descriptor.Id} after a JPEG");

                    bool palette = type == SpiceImageType.Bitmap && body[image.PayloadOffset] is >= 1 and <= 5;
                    if (!palette && (type == SpiceImageType.Bitmap || SpiceImageDecoder.Supports(type)))
                    {
                        DisplayTranscoderTests.DecodeImage(body, image, window);
                        decoded++;
                        payload += image.PayloadLength;
                    }
                }

                return started && decoded >= 80 && (sawPhoto || decoded >= 400);
            },
            TimeSpan.FromSeconds(45),
            ct);

        var figures = metrics.Figures();
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{codec}: photo {(sawPhoto ? "seen" : "not seen")}; client received {string.Join(", ", types.Select(t => $"{t.Key}={t.Value}"))}, {payload} B of image payload; edge: {figures}");
        Assert.True(metrics.Reencoded > 0, figures);
        if (codec == DisplayCodec.Jpeg)
        {
            Assert.True(types.ContainsKey(SpiceImageType.Jpeg) || types.ContainsKey(SpiceImageType.JpegAlpha), "the photo was not sent as JPEG");
        }

        if (codec != DisplayCodec.Glz)
        {
            Assert.DoesNotContain(SpiceImageType.GlzRgb, types.Keys);
            Assert.DoesNotContain(SpiceImageType.ZlibGlzRgb, types.Keys);
        }
    }

}
