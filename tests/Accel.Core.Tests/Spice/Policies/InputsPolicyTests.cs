using System.Buffers;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Messages;
using static Accel.Core.Tests.Spice.Policies.PolicyTestKit;

namespace Accel.Core.Tests.Spice.Policies;

public sealed class InputsPolicyTests
{
    private const SpiceDirection Down = SpiceDirection.ServerToClient;
    private const SpiceDirection Up = SpiceDirection.ClientToServer;

    [Fact]
    public void MotionAck_EveryFourthMotionIsAnsweredAtOnce_AllMotionsCross_AndTheServersAcksEndHere()
    {
        var toClient = new RecordingInjector();
        var policy = new MotionAckPolicy(toClient);
        for (var i = 0; i < 8; i++)
        {
            Assert.True(Pass(policy, Up, i % 2 == 0 ? Message(new SpiceMouseMotion(1, 1, 0)) : Message(new SpiceMousePosition(5, 5, 0, 0))));
        }

        Assert.Equal([(ushort)SpiceInputsMsg.MouseMotionAck, (ushort)SpiceInputsMsg.MouseMotionAck], toClient.Types);
        Assert.Equal(BodyNeed.None, policy.Examine(Up, (ushort)SpiceInputsMsgc.KeyDown, 4));
        Assert.False(Pass(policy, Down, Message((ushort)SpiceInputsMsg.MouseMotionAck)));
        Assert.True(Pass(policy, Down, Message((ushort)SpiceInputsMsg.KeyModifiers, new byte[2])));
    }

    [Fact]
    public void MotionAck_MalformedMotion_IsAProtocolViolation()
    {
        var policy = new MotionAckPolicy(new RecordingInjector());
        var ex = Assert.Throws<SpiceProtocolException>(() => Pass(policy, Up, Message((ushort)SpiceInputsMsgc.MouseMotion, new byte[3])));
        Assert.Equal(SpiceProtocolError.Truncated, ex.Error);
    }

    [Fact]
    public void MotionCoalescing_BeyondEightInFlight_MergesMotions_SendsTheSumOnTheServersAck_AndAKeyFlushesItFirst()
    {
        var toServer = new RecordingInjector();
        var policy = new MotionCoalescingPolicy(toServer);
        for (var i = 0; i < 8; i++)
        {
            Assert.True(Pass(policy, Up, Message(new SpiceMouseMotion(1, 2, 0))));
        }

        // 9th and 10th: merged, nothing sent.
        Assert.False(Pass(policy, Up, Message(new SpiceMouseMotion(3, 4, 0))));
        Assert.False(Pass(policy, Up, Message(new SpiceMouseMotion(5, 6, 1))));
        Assert.Equal(2, policy.Coalesced);

        // The server's motion ACK ends here and lets the merged motion go toward the server.
        Assert.False(Pass(policy, Down, Message((ushort)SpiceInputsMsg.MouseMotionAck)));
        var merged = Assert.Single(toServer.Messages);
        Assert.Equal(new SpiceMouseMotion(8, 10, 1), SpiceMouseMotion.Parse(new ReadOnlySequence<byte>(merged.Body)));

        // Fill the window again, park one motion, then a key: the pending motion is written before the key.
        for (var i = 0; i < 3; i++)
        {
            Pass(policy, Up, Message(new SpiceMouseMotion(1, 0, 0)));
        }

        Assert.False(Pass(policy, Up, Message(new SpiceMouseMotion(7, 7, 0))));
        var output = new ArrayBufferWriter<byte>();
        Assert.True(Pass(policy, Up, Message((ushort)SpiceInputsMsgc.KeyDown, [0x1c, 0, 0, 0]), output));
        var flushed = Assert.Single(Frame(output.WrittenMemory.ToArray()));
        Assert.Equal((ushort)SpiceInputsMsgc.MouseMotion, flushed.Type);
    }
}
