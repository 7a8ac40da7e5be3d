using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Capability and message rewrites the edges apply because a network sits between client and server.
/// </summary>
internal static class LinkCapsRewriter
{
    /// <summary>
    /// Removes SPICE_DISPLAY_CAP_GL_SCANOUT from a display channel's caps: GL scanout passes a dmabuf fd over a
    /// local Unix socket and cannot cross a network.
    /// </summary>
    public static SpiceLinkMess StripGlScanout(SpiceLinkMess message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.ChannelType == SpiceChannelType.Display && message.ChannelCaps.Has((int)SpiceDisplayCap.GlScanout)
            ? message with { ChannelCaps = message.ChannelCaps.Without((int)SpiceDisplayCap.GlScanout) }
            : message;
    }

    /// <summary>Same, for a server's reply on a display channel.</summary>
    public static SpiceLinkReply StripGlScanout(SpiceLinkReply reply, SpiceChannelType channelType)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return channelType == SpiceChannelType.Display && reply.ChannelCaps.Has((int)SpiceDisplayCap.GlScanout)
            ? reply with { ChannelCaps = reply.ChannelCaps.Without((int)SpiceDisplayCap.GlScanout) }
            : reply;
    }

    /// <summary>
    /// Removes SEMI_SEAMLESS_MIGRATE and SEAMLESS_MIGRATE from a main channel's caps so the server never starts a
    /// migration that would move the client off the edge.
    /// </summary>
    public static SpiceLinkMess StripMigration(SpiceLinkMess message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.ChannelType != SpiceChannelType.Main)
        {
            return message;
        }

        var caps = message.ChannelCaps
            .Without((int)SpiceMainCap.SemiSeamlessMigrate)
            .Without((int)SpiceMainCap.SeamlessMigrate);
        return caps == message.ChannelCaps ? message : message with { ChannelCaps = caps };
    }

    /// <summary>
    /// GL messages that only work over a local Unix socket: GL_SCANOUT_UNIX and GL_DRAW from the server, GL_DRAW_DONE
    /// from the client. An edge drops them (the cap is stripped, so they should not appear).
    /// </summary>
    public static bool IsGlOnlyMessage(SpiceChannelType channelType, SpiceDirection direction, ushort type) =>
        channelType == SpiceChannelType.Display && (direction == SpiceDirection.ServerToClient
            ? type is (ushort)SpiceDisplayMsg.GlScanoutUnix or (ushort)SpiceDisplayMsg.GlDraw
            : type == (ushort)SpiceDisplayMsgc.GlDrawDone);
}
