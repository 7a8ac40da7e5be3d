using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Accel.Core.Edges;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Tests.Spice;

namespace Accel.Core.Tests.Relay;

/// <summary>
/// LZ4 on the WAN (issue #12 item 4) with a real Xspice: a main channel that carries tens of kilobytes each way (mouse
/// mode switched thousands of times: requests up, spice-server's MOUSE_MODE down) goes compressed by both edges, every
/// message arrives, and the session is intact; a server edge that does not compress sends stored blocks the client edge
/// reads all the same.
/// </summary>
public sealed partial class WanCompressionThroughEdgesTests
{
    private const int Switches = 6000;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private static readonly SpiceCapabilitySet s_common = SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task MainChannel_ThousandsOfMouseModeSwitches_CompressedBothWays_EveryAnswerArrives(bool serverCompresses)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var edges = new EdgePairFixture { ServerWanCompression = serverCompresses };
        await edges.InitializeAsync();
        int answers = 0;
        await using (var main = await SpiceTestChannel.LinkAsync(edges.EndPoint, new SpiceLinkMess(0, SpiceChannelType.Main, 0, s_common, SpiceCapabilitySet.Of((int)SpiceMainCap.NameAndUuid)), ct))
        {
            uint session = await InputDatagramsThroughEdgesTests.ClientMouseModeAsync(main, ct); // client mode, channels listed
            Assert.NotEqual(0u, session);
            Span<byte> request = stackalloc byte[2];
            for (int i = 1; i <= Switches; i++)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(request, (ushort)(i % 2 == 1 ? SpiceMouseMode.Server : SpiceMouseMode.Client));
                main.Writer.Write(main.Output, (ushort)SpiceMainMsgc.MouseModeRequest, request);
            }

            await main.FlushAsync(ct);
            var mode = SpiceMouseMode.Server;
            await main.ReadUntilAsync(
                (in SpiceMessage m) =>
                {
                    if (m.Type == (ushort)SpiceMsg.Ping)
                    {
                        main.Writer.Write(main.Output, SpicePing.Parse(m.Body).ToPong());
                    }

                    if (m.Type == (ushort)SpiceMainMsg.MouseMode)
                    {
                        answers++;
                        mode = SpiceMainMouseMode.Parse(m.Body).Current;
                    }

                    return answers == Switches;
                },
                s_timeout,
                ct);
            Assert.Equal(SpiceMouseMode.Client, mode); // the last request's mode, after every one before it
        }

        // Each edge logs what compression did for the channel when it ends (event 1209).
        var client = await edges.ClientLogger.WaitForAsync(static e => e.Id == 1209 && e.Message.Contains("main", StringComparison.Ordinal), s_timeout);
        var server = await edges.ServerLogger.WaitForAsync(static e => e.Id == 1209 && e.Message.Contains("main", StringComparison.Ordinal), s_timeout);
        var (upGiven, upSent, downReceived, downDecoded) = Figures(client);
        var (downGiven, downSent, upReceived, upDecoded) = Figures(server);
        TestContext.Current.TestOutputHelper?.WriteLine($"up {upGiven} → {upSent} bytes (server read {upReceived} → {upDecoded}), down {downGiven} → {downSent} bytes (client read {downReceived} → {downDecoded})");
        Assert.Equal((upSent, upGiven), (upReceived, upDecoded));          // the server edge read what the client edge wrote
        Assert.Equal((downSent, downGiven), (downReceived, downDecoded));  // and the reverse
        Assert.True(upGiven > 2 * WanCodec(), $"only {upGiven} bytes went up");
        Assert.True(upSent < upGiven * 0.7, $"up: {upGiven} bytes went as {upSent}");
        Assert.True(serverCompresses ? downSent < downGiven * 0.7 : downSent > downGiven, $"down: {downGiven} bytes went as {downSent}");
    }

    private static int WanCodec() => Accel.Core.Relay.Compression.WanCodec.LazyBytes;

    private static (long Given, long Sent, long Received, long Decoded) Figures(string message)
    {
        var m = FiguresRegex().Match(message);
        Assert.True(m.Success, message);
        long At(int i) => long.Parse(m.Groups[i].Value, CultureInfo.InvariantCulture);
        return (At(1), At(2), At(3), At(4));
    }

    [GeneratedRegex(@"sent (\d+) bytes as (\d+), received (\d+) bytes as (\d+)")]
    private static partial Regex FiguresRegex();
}
