using System.Buffers;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Runs ACK flow control toward the real client on the client-side leg: the edge plays the server. It emits
/// SET_ACK, counts every message sent (the SET_ACK included, as spice-server does), and consumes the client's
/// ACK_SYNC and ACK, which are never forwarded. Unlike spice-server's unsigned counter, an excess ACK cannot wrap:
/// the count stops at zero and the excess is recorded. Not thread-safe.
/// </summary>
internal sealed class ClientLegAckGenerator
{
    private uint _window;

    public ClientLegAckGenerator(uint window)
    {
        ArgumentOutOfRangeException.ThrowIfZero(window);
        _window = window;
    }

    public uint Generation { get; private set; }

    public uint Window => _window;

    /// <summary>Generation from the client's last ACK_SYNC; ~0 until the first.</summary>
    public uint ClientGeneration { get; private set; } = uint.MaxValue;

    /// <summary>Messages sent since the last SET_ACK minus ACKed windows (spice-server's messages_window).</summary>
    public long Unacknowledged { get; private set; }

    /// <summary>Messages the client acknowledged beyond what was sent (a misbehaving client).</summary>
    public long ExcessAcknowledged { get; private set; }

    public bool IsStarted => Generation != 0;

    /// <summary>True while the client lags by more than two windows: stop sending (spice-server's rule).</summary>
    public bool IsWindowFull => IsStarted && Unacknowledged > 2L * _window;

    /// <summary>Starts a new generation (optionally with a new window) and writes its SET_ACK, which counts as sent.</summary>
    public void WriteSetAck(SpiceMessageWriter writer, IBufferWriter<byte> output, uint? window = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var setAck = NextSetAck(window);
        writer.Write(output, setAck);
        OnMessageSent();
    }

    /// <summary>Starts a new generation and returns its SET_ACK; the caller sends it and calls <see cref="OnMessageSent"/>.</summary>
    public SpiceSetAck NextSetAck(uint? window = null)
    {
        if (window is { } w)
        {
            ArgumentOutOfRangeException.ThrowIfZero(w);
            _window = w;
        }

        Generation++;
        if (Generation == 0)
        {
            Generation = 1;
        }

        Unacknowledged = 0;
        return new SpiceSetAck(Generation, _window);
    }

    public void OnMessageSent(int count = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Unacknowledged += count;
    }

    /// <summary>
    /// Feeds a message from the client. Returns true when it was flow control (ACK_SYNC, ACK), consumed here and
    /// not to be forwarded.
    /// </summary>
    public bool OnClientMessage(ushort type, in ReadOnlySequence<byte> body)
    {
        if (type == (ushort)SpiceMsgc.AckSync)
        {
            ClientGeneration = SpiceAckSync.Parse(body).Generation;
            return true;
        }

        if (type != (ushort)SpiceMsgc.Ack)
        {
            return false;
        }

        if (ClientGeneration == Generation && IsStarted)
        {
            if (Unacknowledged >= _window)
            {
                Unacknowledged -= _window;
            }
            else
            {
                ExcessAcknowledged += _window - Unacknowledged;
                Unacknowledged = 0;
            }
        }

        return true;
    }
}
