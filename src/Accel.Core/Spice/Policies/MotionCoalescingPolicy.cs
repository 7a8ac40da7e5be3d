using System.Buffers;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Server edge, inputs channel: keeps spice-gtk's 8-motions-in-flight rule toward spice-server on the short local
/// leg (<see cref="MotionCoalescer"/>): beyond it motions are merged, and the merged one goes when the server's next
/// motion ACK arrives (which ends here: the client edge answered the client already). Every inputs message is read
/// whole, so a key never overtakes a pending motion.
/// </summary>
internal sealed class MotionCoalescingPolicy(IMessageInjector toServer) : IChannelPolicy
{
    private readonly MotionCoalescer _coalescer = new();
    private readonly SpiceMessageWriter _writer = new(miniHeader: true);
    private readonly Lock _lock = new();

    public long Coalesced
    {
        get
        {
            lock (_lock)
            {
                return _coalescer.Coalesced;
            }
        }
    }

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        direction == SpiceDirection.ClientToServer || MotionAckResponder.IsServerMotionAck(type) ? BodyNeed.Inspect : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (direction == SpiceDirection.ServerToClient)
        {
            if (!MotionAckResponder.IsServerMotionAck(message.Type))
            {
                return PolicyVerdict.Forward;
            }

            lock (_lock)
            {
                if (_coalescer.OnServerMotionAck())
                {
                    // The pending motion may go now, toward the server (written before anything relayed after it).
                    toServer.Inject(_coalescer, static (c, writer, o) => c.WritePending(writer, o));
                }
            }

            return PolicyVerdict.Drop;
        }

        lock (_lock)
        {
            return _coalescer.Route(message.Type, message.Body, _writer, output) ? PolicyVerdict.Forward : PolicyVerdict.Drop;
        }
    }

    /// <summary>
    /// Sends a client message toward the server as <see cref="OnMessage"/> would (absorbed into the pending motion, or
    /// written to <paramref name="output"/> after it), for an inputs policy ahead of this one that writes messages itself.
    /// </summary>
    public void Submit(ushort type, in ReadOnlySequence<byte> body, IBufferWriter<byte> output)
    {
        lock (_lock)
        {
            if (_coalescer.Route(type, body, _writer, output))
            {
                _writer.WriteHeader(output, type, (int)body.Length);
                foreach (var segment in body)
                {
                    output.Write(segment.Span);
                }
            }
        }
    }
}
