using System.Buffers;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Client edge, main channel: a migration destination becomes one reachable through the edges (<paramref name="rewrite"/>
/// returns the new target, or null to pass it unchanged: HTTP CONNECT and transparent clients reach any destination
/// through the edges anyway).
/// </summary>
internal sealed class MigrationRewritePolicy(Func<SpiceMigrationTarget, SpiceMigrationTarget?>? rewrite, ILogger logger) : IChannelPolicy
{
    private readonly SpiceMessageWriter _writer = new(miniHeader: true);

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        direction == SpiceDirection.ServerToClient && SpiceMigrationTarget.IsMigrationTargetMessage(type) ? BodyNeed.Inspect : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (direction != SpiceDirection.ServerToClient || !SpiceMigrationTarget.IsMigrationTargetMessage(message.Type))
        {
            return PolicyVerdict.Forward;
        }

        var target = SpiceMigrationTarget.Parse(message.Type, message.Body);
        var rewritten = rewrite?.Invoke(target);
        if (rewritten is null)
        {
            PolicyLog.MigrationUnchanged(logger, target.Host, target.Port);
            return PolicyVerdict.Forward;
        }

        // The client goes to a port of this edge that leads to the new server through the same server edge.
        rewritten.WriteTo(_writer, output);
        PolicyLog.MigrationRewritten(logger, target.Host, target.Port, rewritten.Host, rewritten.Port);
        return PolicyVerdict.Drop;
    }
}
