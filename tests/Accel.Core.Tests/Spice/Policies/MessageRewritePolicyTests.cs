using System.Buffers;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Messages;
using Microsoft.Extensions.Logging.Abstractions;
using static Accel.Core.Tests.Spice.Policies.PolicyTestKit;

namespace Accel.Core.Tests.Spice.Policies;

public sealed class MessageRewritePolicyTests
{
    private const SpiceDirection Down = SpiceDirection.ServerToClient;
    private const SpiceDirection Up = SpiceDirection.ClientToServer;

    // MIGRATE_BEGIN to 10.0.0.5:5900/5901 (spice-protocol layout, as in SpiceMessagesTests).
    private static readonly byte[] s_migrateBegin = ParserAssert.Hex("0C17 0D17 09000000 14000000 00000000 00000000 31302E302E302E3500");

    [Fact]
    public void Migration_Rewritten_WritesTheNewTargetInstead()
    {
        var policy = new MigrationRewritePolicy(t => t.RedirectTo("127.0.0.1", 15900, 0, null), NullLogger.Instance);
        var output = new ArrayBufferWriter<byte>();
        Assert.False(Pass(policy, Down, Message((ushort)SpiceMainMsg.MigrateBegin, s_migrateBegin), output));

        var written = Assert.Single(Frame(output.WrittenMemory.ToArray()));
        var target = SpiceMigrationTarget.Parse(written.Type, new ReadOnlySequence<byte>(written.Body));
        Assert.Equal(("127.0.0.1", (ushort)15900), (target.Host, target.Port));
    }

    [Fact]
    public void Migration_NoRedirect_PassesUnchanged_AndOtherMessagesStream()
    {
        var policy = new MigrationRewritePolicy(null, NullLogger.Instance);
        Assert.True(Pass(policy, Down, Message((ushort)SpiceMainMsg.MigrateBegin, s_migrateBegin)));
        Assert.Equal(BodyNeed.None, policy.Examine(Down, (ushort)SpiceMainMsg.AgentData, 1000));
        Assert.Equal(BodyNeed.None, policy.Examine(Up, (ushort)SpiceMainMsg.MigrateBegin, 10));
    }

    [Fact]
    public void GlFilter_DropsLocalOnlyGlMessages_BothWays_AndPassesDraws()
    {
        var policy = new GlFilterPolicy();
        Assert.False(Pass(policy, Down, Message((ushort)SpiceDisplayMsg.GlScanoutUnix, new byte[8])));
        Assert.False(Pass(policy, Down, Message((ushort)SpiceDisplayMsg.GlDraw, new byte[8])));
        Assert.False(Pass(policy, Up, Message((ushort)SpiceDisplayMsgc.GlDrawDone)));
        Assert.Equal(BodyNeed.None, policy.Examine(Down, (ushort)SpiceDisplayMsg.DrawCopy, 1 << 20));
    }

    [Fact]
    public void DisplayTranscode_WantsOnlyDrawsWithImagesWithinItsLimit()
    {
        using var policy = new DisplayTranscodePolicy(new DisplayTranscoder(DisplayCodec.Lz, 4096));
        Assert.Equal(BodyNeed.Transform, policy.Examine(Down, (ushort)SpiceDisplayMsg.DrawCopy, 4000));
        Assert.Equal(BodyNeed.None, policy.Examine(Down, (ushort)SpiceDisplayMsg.DrawCopy, 5000));
        Assert.Equal(BodyNeed.None, policy.Examine(Down, (ushort)SpiceDisplayMsg.CopyBits, 100));
        Assert.Equal(BodyNeed.None, policy.Examine(Up, (ushort)SpiceDisplayMsg.DrawCopy, 100));
    }

    [Fact]
    public void Factories_ChooseByChannelTypeAndRole_AckAccountingFirst()
    {
        var client = new ClientEdgePolicies(20, null, NullLogger.Instance);
        var server = new ServerEdgePolicies(DisplayCodec.Lz, 1 << 20, keepSmallerOriginal: true);
        var toClient = new RecordingInjector();
        var toServer = new RecordingInjector();

        Assert.Collection(client.Create(new LinkedChannel(SpiceChannelType.Display, 0, 1 << 20), toClient, toServer), p => Assert.IsType<ClientLegAckPolicy>(p), p => Assert.IsType<GlFilterPolicy>(p));
        Assert.IsType<MotionAckPolicy>(Assert.Single(client.Create(new LinkedChannel(SpiceChannelType.Inputs, 0, 1 << 20), toClient, toServer)));
        Assert.IsType<MigrationRewritePolicy>(Assert.Single(client.Create(new LinkedChannel(SpiceChannelType.Main, 0, 1 << 20), toClient, toServer)));
        Assert.Empty(client.Create(new LinkedChannel(SpiceChannelType.Playback, 0, 1 << 20), toClient, toServer));

        var display = server.Create(new LinkedChannel(SpiceChannelType.Display, 1, 1 << 20), toClient, toServer);
        Assert.IsType<ServerLegAckPolicy>(display[0]);
        var transcode = Assert.IsType<DisplayTranscodePolicy>(display[1]);
        transcode.Dispose();
        Assert.IsType<ServerLegAckPolicy>(Assert.Single(server.Create(new LinkedChannel(SpiceChannelType.Cursor, 0, 1 << 20), toClient, toServer)));
        Assert.IsType<MotionCoalescingPolicy>(Assert.Single(server.Create(new LinkedChannel(SpiceChannelType.Inputs, 0, 1 << 20), toClient, toServer)));
        Assert.Empty(toServer.Types);
    }
}
