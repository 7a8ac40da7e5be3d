using System.Buffers;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Client edge, display and cursor channels: plays the server for the client's ACK window on the LAN leg. It gives
/// the client its own SET_ACK as soon as the channel is linked, counts every message sent to it, and consumes the
/// client's ACK_SYNC and ACKs. A SET_ACK from across the WAN (there should be none: the server edge ends them) is
/// dropped.
/// </summary>
internal sealed class ClientLegAckPolicy : IChannelPolicy
{
    private readonly ClientLegAckGenerator _generator;
    private readonly Lock _lock = new();

    public ClientLegAckPolicy(IMessageInjector toClient, uint window)
    {
        _generator = new ClientLegAckGenerator(window);
        lock (_lock)
        {
            toClient.Inject(_generator.NextSetAck());
            _generator.OnMessageSent();
        }
    }

    /// <summary>Messages sent to the client and not yet acknowledged by it.</summary>
    public long Unacknowledged
    {
        get
        {
            lock (_lock)
            {
                return _generator.Unacknowledged;
            }
        }
    }

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        IsFlowControl(direction, type) ? BodyNeed.Inspect : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
        if (direction == SpiceDirection.ServerToClient)
        {
            Sent();
        }
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (!IsFlowControl(direction, message.Type))
        {
            if (direction == SpiceDirection.ServerToClient)
            {
                Sent();
            }

            return PolicyVerdict.Forward;
        }

        if (direction == SpiceDirection.ClientToServer)
        {
            lock (_lock)
            {
                _generator.OnClientMessage(message.Type, message.Body);
            }
        }

        return PolicyVerdict.Drop;
    }

    private static bool IsFlowControl(SpiceDirection direction, ushort type) => direction == SpiceDirection.ServerToClient
        ? type == (ushort)SpiceMsg.SetAck
        : type is (ushort)SpiceMsgc.Ack or (ushort)SpiceMsgc.AckSync;

    private void Sent()
    {
        lock (_lock)
        {
            _generator.OnMessageSent();
        }
    }
}
