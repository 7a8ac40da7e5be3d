using System.Buffers;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Input;

/// <summary>
/// An inputs-channel policy that reads every client message whole and writes what goes on itself (the pump never
/// forwards one), so that the order of what it writes, and of what its timers or datagrams add, is its own.
/// </summary>
internal abstract class ClientMessagePolicy : IChannelPolicy
{
    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        direction == SpiceDirection.ClientToServer ? BodyNeed.Inspect : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (direction != SpiceDirection.ClientToServer)
        {
            return PolicyVerdict.Forward;
        }

        OnClientMessage(message, output);
        return PolicyVerdict.Drop;
    }

    /// <summary>A client message: write what goes toward the server to <paramref name="output"/> (or nothing).</summary>
    protected abstract void OnClientMessage(in SpiceMessage message, IBufferWriter<byte> output);
}
