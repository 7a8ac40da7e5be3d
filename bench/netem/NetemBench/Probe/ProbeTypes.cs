using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;

namespace NetemBench.Probe;

/// <summary>An axis-aligned screen rectangle (left/top inclusive, right/bottom exclusive), in primary-surface pixels.</summary>
public readonly record struct ScreenRect(int Left, int Top, int Right, int Bottom)
{
    public static ScreenRect FromGeometry(int x, int y, int width, int height) => new(x, y, x + width, y + height);

    public bool Intersects(ScreenRect o) => Left < o.Right && o.Left < Right && Top < o.Bottom && o.Top < Bottom;

    public override string ToString() => $"{Right - Left}x{Bottom - Top}+{Left}+{Top}";
}

/// <summary>
/// Key-to-echo samples of one run: latencies in ms of the keys whose echo arrived, how many never did, and how many keys
/// were typed (fewer than asked only when the phase ran out of its time budget).
/// </summary>
public sealed record KeyEchoResult(List<double> LatenciesMs, int Timeouts, int Keys)
{
    /// <summary>Why typing stopped early (the server closed a channel, a channel failed); null when every key was typed or the budget ran out.</summary>
    public string? StoppedBy { get; init; }
}

/// <summary>What the pointer phase sent: how many MOUSE_MOTION messages, over which wall-clock window.</summary>
public sealed record PointerRun(long StartUnixMs, long EndUnixMs, int MotionsSent, int MovesRequested);

/// <summary>What the probe reads from display draw messages.</summary>
internal static class ProbeDraws
{
    /// <summary>
    /// Draw commands and COPY_BITS (scrolling) start with SpiceMsgDisplayBase: u32 surface_id, rect (top, left, bottom,
    /// right). False for any other display message.
    /// </summary>
    public static bool TryReadDrawBase(in SpiceMessage message, out uint surface, out ScreenRect box)
    {
        surface = 0;
        box = default;
        var type = message.Type;
        if (type is not (>= 302 and <= 313 or 318) && type != (ushort)SpiceDisplayMsg.CopyBits)
        {
            return false;
        }

        if (message.Body.Length < 20)
        {
            throw new SpiceProtocolException(SpiceProtocolError.Truncated, $"display message {type} of {message.Body.Length} bytes");
        }

        Span<byte> head = stackalloc byte[20];
        message.Body.Slice(0, 20).CopyTo(head);
        surface = BinaryPrimitives.ReadUInt32LittleEndian(head);
        box = new ScreenRect(
            BinaryPrimitives.ReadInt32LittleEndian(head[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(head[4..]),
            BinaryPrimitives.ReadInt32LittleEndian(head[16..]),
            BinaryPrimitives.ReadInt32LittleEndian(head[12..]));
        return true;
    }
}

/// <summary>SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST: u16 mode.</summary>
internal readonly record struct SpiceMouseModeRequest(SpiceMouseMode Mode) : ISpiceMessageBody
{
    public ushort MessageType => (ushort)SpiceMainMsgc.MouseModeRequest;

    public int BodyLength => 2;

    public void WriteBody(Span<byte> destination) => BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)Mode);
}

/// <summary>SPICE_MSGC_INPUTS_KEY_DOWN / KEY_UP: u32 PC AT scancode (set 1; release = code | 0x80).</summary>
internal readonly record struct SpiceKey(ushort MessageType, uint Code) : ISpiceMessageBody
{
    public int BodyLength => 4;

    public void WriteBody(Span<byte> destination) => BinaryPrimitives.WriteUInt32LittleEndian(destination, Code);
}
