using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// The client edge's policies: its own ACK window toward the client (display, cursor), GL messages dropped
/// (display), motion ACKs answered at once and, toward a server edge that takes them, pointer datagrams and input
/// copies (inputs), migration destinations rewritten (main).
/// </summary>
internal sealed class ClientEdgePolicies(uint ackWindow, Func<SpiceMigrationTarget, SpiceMigrationTarget?>? migrationRewrite, ILogger logger,
    Func<IMessageInjector, DisplayPreviewPolicy>? displayPreview = null, Func<IMessageInjector, IChannelPolicy>? inputDatagrams = null) : IChannelPolicyFactory
{
    public string EdgeName => "client edge";

    public IChannelPolicy[] Create(in LinkedChannel channel, IMessageInjector toClient, IMessageInjector toServer) => channel.Type switch
    {
        SpiceChannelType.Display when displayPreview is not null => [displayPreview(toClient), new ClientLegAckPolicy(toClient, ackWindow), new GlFilterPolicy()],
        SpiceChannelType.Display => [new ClientLegAckPolicy(toClient, ackWindow), new GlFilterPolicy()],
        SpiceChannelType.Cursor => [new ClientLegAckPolicy(toClient, ackWindow)],
        SpiceChannelType.Inputs when inputDatagrams is not null => [new MotionAckPolicy(toClient), inputDatagrams(toServer)],
        SpiceChannelType.Inputs => [new MotionAckPolicy(toClient)],
        SpiceChannelType.Main => [new MigrationRewritePolicy(migrationRewrite, logger)],
        _ => [],
    };

    /// <summary>
    /// What the client edge tells the server about the client: no GL scanout (a local dmabuf cannot cross the WAN) and
    /// no seamless migration (it would move the client off the edges).
    /// </summary>
    public static Protocol.Link.SpiceLinkMess RewriteLink(Protocol.Link.SpiceLinkMess original)
        => LinkCapsRewriter.StripMigration(LinkCapsRewriter.StripGlScanout(original));
}

/// <summary>
/// The server edge's policies: spice-server's ACK window answered here, through an <see cref="IAckGate"/> (display,
/// cursor), display images re-encoded when a codec is set (display), motions coalesced on the local leg (inputs),
/// spice-server's pings and network test answered here (main).
/// </summary>
/// <param name="displayAckGate">The display channel's ACK gate (a display budget); null answers at once.</param>
/// <param name="displayCanvas">
/// Display channel 0's canvas policy (<c>Server:DisplayCanvas</c>); when set, that channel's ACKs are answered at once.
/// </param>
/// <param name="inputSync">The inputs channel's <see cref="Input.InputSyncPolicy"/> when the client edge sends input datagrams.</param>
internal sealed class ServerEdgePolicies(DisplayCodec codec, int maxTranscodedMessage, bool keepSmallerOriginal, Func<IAckGate>? displayAckGate = null,
    Func<IMessageInjector, DisplayCanvasPolicy>? displayCanvas = null, Func<IMessageInjector, MotionCoalescingPolicy, Input.InputSyncPolicy>? inputSync = null) : IChannelPolicyFactory
{
    public string EdgeName => "server edge";

    public IChannelPolicy[] Create(in LinkedChannel channel, IMessageInjector toClient, IMessageInjector toServer)
    {
        switch (channel.Type)
        {
            case SpiceChannelType.Display when codec != DisplayCodec.Off:
                // spice-gtk shares one GLZ window per session across display channels, and each transcoder has its own
                // dictionary: only display channel 0 may produce GLZ, the others use LZ.
                var used = codec == DisplayCodec.Glz && channel.Id != 0 ? DisplayCodec.Lz : codec;
                var transcoder = new DisplayTranscoder(used, Math.Min(maxTranscodedMessage, channel.MaxMessageSize), keepSmallerOriginal);
                return channel.Id == 0 && displayCanvas is not null
                    ? [new ServerLegAckPolicy(toServer, ImmediateAckGate.Instance), displayCanvas(toClient), new DisplayTranscodePolicy(transcoder)]
                    : [DisplayAckPolicy(toServer), new DisplayTranscodePolicy(transcoder)];
            case SpiceChannelType.Display when channel.Id == 0 && displayCanvas is not null:
                return [new ServerLegAckPolicy(toServer, ImmediateAckGate.Instance), displayCanvas(toClient)];
            case SpiceChannelType.Display:
                return [DisplayAckPolicy(toServer)];
            case SpiceChannelType.Cursor:
                return [new ServerLegAckPolicy(toServer, ImmediateAckGate.Instance)];
            case SpiceChannelType.Inputs:
                var coalescing = new MotionCoalescingPolicy(toServer);
                return inputSync is null ? [coalescing] : [inputSync(toServer, coalescing), coalescing];
            case SpiceChannelType.Main:
                return [new MainPingPolicy(toServer)];
            default:
                return [];
        }
    }

    private ServerLegAckPolicy DisplayAckPolicy(IMessageInjector toServer) => new(toServer, displayAckGate?.Invoke() ?? ImmediateAckGate.Instance);
}
