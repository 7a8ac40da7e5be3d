using System.Buffers;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Messages;
using static Accel.Core.Tests.Spice.Policies.PolicyTestKit;

namespace Accel.Core.Tests.Spice.Policies;

public sealed class MainPingPolicyTests
{
    private const SpiceDirection Down = SpiceDirection.ServerToClient;
    private const SpiceDirection Up = SpiceDirection.ClientToServer;

    [Fact]
    public void NetworkTest_ThreePings_AreAnsweredToTheServerInOrder_AndNoneReachesTheClient()
    {
        var toServer = new RecordingInjector();
        var policy = new MainPingPolicy(toServer);
        var pings = new[] { new SpicePing(1, 1000, 0), new SpicePing(2, 1001, 0), new SpicePing(3, 1002, NetTestTracker.RatePingPadding) };

        foreach (var ping in pings)
        {
            Assert.Equal(BodyNeed.Transform, policy.Examine(Down, ping.MessageType, (uint)ping.BodyLength));
            Assert.False(Pass(policy, Down, Message(ping)));
        }

        var pongs = toServer.Messages;
        Assert.Equal(3, pongs.Count);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal((ushort)SpiceMsgc.Pong, pongs[i].Type);
            Assert.Equal(pings[i].ToPong(), SpicePong.Parse(new ReadOnlySequence<byte>(pongs[i].Body)));
        }

        Assert.Equal(3, policy.Answered);
        Assert.Equal(NetTestTracker.RatePingPadding, policy.PaddingKept);
    }

    [Fact]
    public void OtherMainMessages_AndClientPongs_StreamThroughUntouched()
    {
        var toServer = new RecordingInjector();
        var policy = new MainPingPolicy(toServer);

        Assert.Equal(BodyNeed.None, policy.Examine(Down, (ushort)SpiceMainMsg.Init, 32));
        Assert.True(Pass(policy, Down, Message((ushort)SpiceMainMsg.Init, new byte[32])));
        Assert.True(Pass(policy, Down, Message((ushort)SpiceMainMsg.ChannelsList, new byte[4])));
        Assert.Equal(BodyNeed.None, policy.Examine(Up, (ushort)SpiceMsgc.Pong, SpicePong.Length));
        Assert.True(Pass(policy, Up, Message(new SpicePong(7, 9))));
        Assert.True(Pass(policy, Up, Message((ushort)SpiceMainMsgc.AttachChannels)));
        Assert.Empty(toServer.Types);
        Assert.Equal(0, policy.Answered);
    }

    [Fact]
    public void PingTooShortOrTooLarge_IsNotSpiceServers_AndGoesToTheClient()
    {
        var toServer = new RecordingInjector();
        var policy = new MainPingPolicy(toServer);

        Assert.Equal(BodyNeed.None, policy.Examine(Down, (ushort)SpiceMsg.Ping, SpicePing.FixedLength - 1));
        Assert.Equal(BodyNeed.None, policy.Examine(Down, (ushort)SpiceMsg.Ping, MainPingPolicy.MaxAnsweredPing + 1));
        Assert.Equal(BodyNeed.Transform, policy.Examine(Down, (ushort)SpiceMsg.Ping, MainPingPolicy.MaxAnsweredPing));
        Assert.True(Pass(policy, Down, Message((ushort)SpiceMsg.Ping, new byte[4])));
        Assert.Empty(toServer.Types);
    }

    [Fact]
    public void ServerEdgePolicies_MainChannel_GetsThePingPolicy_ClientEdgeDoesNot()
    {
        var server = new ServerEdgePolicies(Accel.Core.Spice.Display.DisplayCodec.Off, 1 << 20, true);
        var channel = new LinkedChannel(SpiceChannelType.Main, 0, 4 << 20);

        Assert.IsType<MainPingPolicy>(Assert.Single(server.Create(channel, new RecordingInjector(), new RecordingInjector())));
        var client = new ClientEdgePolicies(20, null, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.DoesNotContain(client.Create(channel, new RecordingInjector(), new RecordingInjector()), p => p is MainPingPolicy);
    }
}
