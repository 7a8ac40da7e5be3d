using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Messages;
using static Accel.Core.Tests.Spice.Policies.PolicyTestKit;

namespace Accel.Core.Tests.Spice.Policies;

public sealed class AckPolicyTests
{
    private const SpiceDirection Down = SpiceDirection.ServerToClient;
    private const SpiceDirection Up = SpiceDirection.ClientToServer;

    [Fact]
    public void ServerLegAck_SetAckThenStreamedDraws_AnswersSyncThenAckEveryWindow_AndNeverForwardsFlowControl()
    {
        var toServer = new RecordingInjector();
        var policy = new ServerLegAckPolicy(toServer, ImmediateAckGate.Instance);

        Assert.False(Pass(policy, Down, Message(new SpiceSetAck(3, 10))));
        for (var i = 0; i < 25; i++)
        {
            Assert.True(Pass(policy, Down, Message((ushort)SpiceDisplayMsg.DrawCopy, new byte[100])));
        }

        var sent = toServer.Messages;
        Assert.Equal([(ushort)SpiceMsgc.AckSync, (ushort)SpiceMsgc.Ack, (ushort)SpiceMsgc.Ack], sent.ConvertAll(m => m.Type));
        Assert.Equal(3u, SpiceAckSync.Parse(new System.Buffers.ReadOnlySequence<byte>(sent[0].Body)).Generation);
        Assert.Equal(2, policy.AcksSent);

        // ACKs from the client edge end here too.
        Assert.False(Pass(policy, Up, Message((ushort)SpiceMsgc.Ack)));
    }

    [Fact]
    public void ServerLegAck_GateHoldsAcks_ReleasedLaterInOrder_AndANewGenerationDropsHeldOnes()
    {
        var toServer = new RecordingInjector();
        var gate = new HoldingGate();
        var policy = new ServerLegAckPolicy(toServer, gate);
        Assert.Same(policy, gate.Releaser);

        Pass(policy, Down, Message(new SpiceSetAck(1, 2)));
        for (var i = 0; i < 6; i++)
        {
            Pass(policy, Down, Message((ushort)SpiceDisplayMsg.DrawFill, new byte[8]));
        }

        // Three windows done, none answered yet: only the ACK_SYNC went.
        Assert.Equal([(ushort)SpiceMsgc.AckSync], toServer.Types);
        Assert.Equal(3, policy.Held);

        gate.Open = true;
        policy.Release(2);
        Assert.Equal([(ushort)SpiceMsgc.AckSync, (ushort)SpiceMsgc.Ack, (ushort)SpiceMsgc.Ack], toServer.Types);
        Assert.Equal(1, policy.Held);

        // While one is still held, a due ACK waits behind it (order is kept).
        gate.Open = true;
        Pass(policy, Down, Message((ushort)SpiceDisplayMsg.DrawFill, new byte[8]));
        Pass(policy, Down, Message((ushort)SpiceDisplayMsg.DrawFill, new byte[8]));
        Assert.Equal(2, policy.Held);

        Pass(policy, Down, Message(new SpiceSetAck(2, 4)));
        Assert.Equal(0, policy.Held);
        Assert.Equal(2, gate.Generations);
        policy.OnForwarded(SpiceDirection.ServerToClient, 1000);
        policy.OnForwarded(SpiceDirection.ClientToServer, 5);
        Assert.Equal(1000, gate.Forwarded);
        Assert.Equal((ushort)SpiceMsgc.AckSync, toServer.Types[^1]);
    }

    [Fact]
    public void ClientLegAck_SendsItsOwnSetAckFirst_CountsEverySentMessage_AndConsumesTheClientsAcks()
    {
        var toClient = new RecordingInjector();
        var policy = new ClientLegAckPolicy(toClient, 20);
        var setAck = Assert.Single(toClient.Messages);
        Assert.Equal((ushort)SpiceMsg.SetAck, setAck.Type);
        Assert.Equal(20u, SpiceSetAck.Parse(new System.Buffers.ReadOnlySequence<byte>(setAck.Body)).Window);
        Assert.Equal(1, policy.Unacknowledged);

        for (var i = 0; i < 20; i++)
        {
            Assert.True(Pass(policy, Down, Message((ushort)SpiceDisplayMsg.DrawCopy, new byte[10])));
        }

        // A SET_ACK from across the WAN is not the client's business and is not counted.
        Assert.False(Pass(policy, Down, Message(new SpiceSetAck(9, 40))));
        Assert.Equal(21, policy.Unacknowledged);

        Assert.False(Pass(policy, Up, Message(new SpiceAckSync(1))));
        Assert.False(Pass(policy, Up, Message((ushort)SpiceMsgc.Ack)));
        Assert.Equal(1, policy.Unacknowledged);
        Assert.True(Pass(policy, Up, Message((ushort)SpiceDisplayMsgc.PreferredCompression, [1])));
    }

    private sealed class HoldingGate : IAckGate
    {
        public bool Open { get; set; }

        public IAckReleaser? Releaser { get; private set; }

        public void Attach(IAckReleaser releaser) => Releaser = releaser;

        public int Generations { get; private set; }

        public long Forwarded { get; private set; }

        // As the gate contract asks: nothing passes while something is held, so ACKs leave in order.
        public bool TryPass() => Open && Releaser!.Held == 0;

        public void OnNewGeneration() => Generations++;

        public void OnForwarded(long bytes) => Forwarded += bytes;
    }
}
