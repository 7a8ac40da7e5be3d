using System.Buffers;
using Accel.Core.Diagnostics;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Server edge, display and cursor channels: plays the client for spice-server's ACK window. SET_ACK ends here and
/// is answered with ACK_SYNC at once; every window of messages is answered with an ACK when the
/// <see cref="IAckGate"/> lets it pass, else later, when the gate releases it. ACKs from the client edge (there
/// should be none: it ends them) are dropped.
/// </summary>
internal sealed class ServerLegAckPolicy : IChannelPolicy, IAckReleaser, IForwardObserver, IDisposable
{
    private readonly ServerLegAckResponder _responder = new();
    private readonly IMessageInjector _toServer;
    private readonly IAckGate _gate;
    private readonly Lock _lock = new();
    private int _held;

    public ServerLegAckPolicy(IMessageInjector toServer, IAckGate gate)
    {
        _toServer = toServer;
        _gate = gate;
        gate.Attach(this);
    }

    public int Held
    {
        get
        {
            lock (_lock)
            {
                return _held;
            }
        }
    }

    /// <summary>ACKs sent to the server so far.</summary>
    public long AcksSent { get; private set; }

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        IsFlowControl(direction, type) ? BodyNeed.Inspect : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
        if (direction == SpiceDirection.ServerToClient)
        {
            Answer(_responder.OnServerMessage(type, ReadOnlySequence<byte>.Empty));
        }
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (direction == SpiceDirection.ServerToClient)
        {
            Answer(_responder.OnServerMessage(message.Type, message.Body));
        }

        return IsFlowControl(direction, message.Type) ? PolicyVerdict.Drop : PolicyVerdict.Forward;
    }

    public void Release(int count)
    {
        lock (_lock)
        {
            var n = Math.Min(count, _held);
            _held -= n;
            for (var i = 0; i < n; i++)
            {
                SendAck();
            }
        }
    }

    public void OnForwarded(SpiceDirection direction, long bytes)
    {
        if (direction == SpiceDirection.ServerToClient)
        {
            _gate.OnForwarded(bytes);
        }
    }

    public void Dispose() => (_gate as IDisposable)?.Dispose();

    private static bool IsFlowControl(SpiceDirection direction, ushort type) => direction == SpiceDirection.ServerToClient
        ? ServerLegAckResponder.IsFlowControlOnly(type)
        : type is (ushort)SpiceMsgc.Ack or (ushort)SpiceMsgc.AckSync;

    private void Answer(AckReplies replies)
    {
        if (replies == AckReplies.None)
        {
            return;
        }

        lock (_lock)
        {
            if ((replies & AckReplies.Ack) != 0)
            {
                if (_gate.TryPass())
                {
                    SendAck();
                }
                else
                {
                    _held++;
                }
            }

            if ((replies & AckReplies.AckSync) != 0)
            {
                // A new generation: the server restarted its count with the SET_ACK, so ACKs held for the old one are moot.
                _held = 0;
                _gate.OnNewGeneration();
                _toServer.Inject(new SpiceAckSync(_responder.Generation));
                AccelMetrics.LocalAcks.Add(1, AccelMetrics.Tags("kind", "ack"));
            }
        }
    }

    private void SendAck()
    {
        _toServer.Inject(SpiceEmptyMessage.Ack);
        AcksSent++;
        AccelMetrics.LocalAcks.Add(1, AccelMetrics.Tags("kind", "ack"));
    }
}
