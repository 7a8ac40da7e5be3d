using System.Buffers;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Client edge, display channel: drops the GL messages that only work over a local Unix socket (GL_SCANOUT_UNIX,
/// GL_DRAW, GL_DRAW_DONE). The client edge strips the GL scanout cap from the link, so they should not appear.
/// </summary>
internal sealed class GlFilterPolicy : IChannelPolicy
{
    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        LinkCapsRewriter.IsGlOnlyMessage(SpiceChannelType.Display, direction, type) ? BodyNeed.Inspect : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output) =>
        LinkCapsRewriter.IsGlOnlyMessage(SpiceChannelType.Display, direction, message.Type) ? PolicyVerdict.Drop : PolicyVerdict.Forward;
}
