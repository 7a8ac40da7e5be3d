using System.Buffers;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>Replies an ACK responder wants sent back to the server, in this order: ACK first, then ACK_SYNC.</summary>
[Flags]
internal enum AckReplies
{
    None = 0,
    Ack = 1,
    AckSync = 2,
}

/// <summary>
/// Terminates the server's ACK flow control on the server-side leg: the edge plays the client. Fed every top-level
/// message from the server (a SPICE_MSG_LIST counts as one), in order, it says when to answer SET_ACK with
/// ACK_SYNC(generation) and when to send an ACK (every <c>window</c> messages), exactly as spice-gtk does:
/// the count is taken before the message is handled, so a SET_ACK can itself complete a window.
/// </summary>
/// <remarks>
/// To create backpressure, feed a message when it has been consumed (forwarded to the WAN) rather than when it
/// arrived: the server then holds back once 2 × window messages are unconsumed. Not thread-safe.
/// </remarks>
internal sealed class ServerLegAckResponder
{
    private uint _window;
    private uint _count;

    /// <summary>Generation of the last SET_ACK.</summary>
    public uint Generation { get; private set; }

    /// <summary>Window of the last SET_ACK; 0 before any (no ACKs are sent then).</summary>
    public uint Window => _window;

    /// <summary>Messages still to receive before the next ACK is due.</summary>
    public uint MessagesUntilAck => _count;

    public long AcksProduced { get; private set; }

    public AckReplies OnServerMessage(ushort type, in ReadOnlySequence<byte> body)
    {
        var replies = AckReplies.None;
        if (_count != 0)
        {
            _count--;
            if (_count == 0)
            {
                replies |= AckReplies.Ack;
                AcksProduced++;
                _count = _window;
            }
        }

        if (type == (ushort)SpiceMsg.SetAck)
        {
            var setAck = SpiceSetAck.Parse(body);
            Generation = setAck.Generation;
            _window = setAck.Window;
            _count = setAck.Window;
            replies |= AckReplies.AckSync;
        }

        return replies;
    }

    /// <summary>Whether a message from the server is flow-control only and must not be forwarded to the other leg.</summary>
    public static bool IsFlowControlOnly(ushort type) => type == (ushort)SpiceMsg.SetAck;

    public void WriteReplies(AckReplies replies, SpiceMessageWriter writer, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if ((replies & AckReplies.Ack) != 0)
        {
            writer.Write(output, SpiceEmptyMessage.Ack);
        }

        if ((replies & AckReplies.AckSync) != 0)
        {
            writer.Write(output, new SpiceAckSync(Generation));
        }
    }
}
