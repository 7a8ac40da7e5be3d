using System.Buffers;
using Accel.Core.Diagnostics;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Server edge, main channel: answers spice-server's PINGs here, once each whole ping has arrived on the local leg, and
/// never forwards them. At connect spice-server queues its network test right after MAIN_INIT (a warm-up and a
/// latency ping without padding, then a rate ping with 256 000 bytes of zeros) and from the PONG times decides, once,
/// whether the client is on a "low bandwidth" link (JPEG and zlib-GLZ on, ACK window 40, Nagle). Answered here the
/// rate ping never crosses the WAN (nor delays the main messages queued behind it) and spice-server always sees a
/// fast client, so it sends lossless and the edges do the adaptation. Later pings (latency and connectivity
/// monitoring) are answered here as well, so spice-server measures the local leg and a WAN outage the edges ride out
/// does not make it drop the client.
/// <para>
/// The client never misses anything it counts: the main channel has no ACK window (spice-server creates it without
/// one, so no SET_ACK comes), the mini header carries no serial, and the only serials that travel (WAIT_FOR_CHANNELS)
/// name display channels. A client PONG can only answer a PING this policy forwarded (none larger than
/// <see cref="MaxAnsweredPing"/>), so client PONGs pass unchanged.
/// </para>
/// </summary>
internal sealed class MainPingPolicy(IMessageInjector toServer) : IChannelPolicy
{
    /// <summary>
    /// Largest ping answered here (body bytes, read whole into the relay's buffer once): spice-server's rate ping is
    /// 12 + 256 000. A larger one is not spice-server's and goes to the client as before.
    /// </summary>
    public const int MaxAnsweredPing = SpicePing.FixedLength + 1024 * 1024;

    /// <summary>PINGs answered here so far.</summary>
    public long Answered { get; private set; }

    /// <summary>Padding bytes of the answered pings that did not cross the WAN.</summary>
    public long PaddingKept { get; private set; }

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        IsAnswerable(direction, type, size) ? BodyNeed.Transform : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (!IsAnswerable(direction, message.Type, (uint)message.BodyLength))
        {
            return PolicyVerdict.Forward;
        }

        var ping = SpicePing.Parse(message.Body);
        toServer.Inject(ping.ToPong());
        Answered++;
        PaddingKept += ping.PaddingLength;
        AccelMetrics.LocalAcks.Add(1, AccelMetrics.Tags("kind", "pong"));
        return PolicyVerdict.Drop;
    }

    private static bool IsAnswerable(SpiceDirection direction, ushort type, uint size) =>
        direction == SpiceDirection.ServerToClient && type == (ushort)SpiceMsg.Ping && size is >= SpicePing.FixedLength and <= MaxAnsweredPing;
}
