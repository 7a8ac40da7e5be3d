using Accel.Core.Spice.Protocol;
using Accel.Core.Transport;

namespace Accel.Core.Spice.Input;

/// <summary>
/// The server edge's input datagrams of one edge connection: one receive loop, dispatched by kind and stream id to the
/// inputs channels' <see cref="InputSyncPolicy"/>. Ends with the connection.
/// </summary>
internal sealed class InputDatagramHub
{
    private readonly StreamDatagramHub<InputSyncPolicy> _channels = new();

    private InputDatagramHub()
    {
    }

    /// <summary>Starts the hub of a connection (its receive loop runs until the connection ends).</summary>
    public static InputDatagramHub Start(IDatagramConnection connection)
    {
        var hub = new InputDatagramHub();
        hub._channels.Start(connection, hub.Dispatch);
        return hub;
    }

    /// <summary>Routes the datagrams of stream <paramref name="streamId"/> to <paramref name="policy"/> until it is unregistered.</summary>
    public void Register(long streamId, InputSyncPolicy policy) => _channels.Register(streamId, policy);

    public void Unregister(long streamId, InputSyncPolicy policy) => _channels.Unregister(streamId, policy);

    private void Dispatch(ReadOnlySpan<byte> datagram)
    {
        if (!InputWire.TryReadHeader(datagram, out var kind, out var streamId, out var index, out var rest))
        {
            InputMetrics.Malformed.Add(1);
            return;
        }

        if (_channels.Find(streamId) is not { } policy)
        {
            return;
        }

        try
        {
            if (kind == InputWire.PointerKind)
            {
                policy.OnPointerDatagram(index, rest);
            }
            else
            {
                policy.OnCopyDatagram(index, rest);
            }
        }
        catch (SpiceProtocolException)
        {
            // That channel's injector is full (spice-server does not read): its own loops end it.
        }
    }
}
