using Accel.Core.Spice.Protocol;
using Accel.Core.Transport;

namespace Accel.Core.Spice.Input;

/// <summary>
/// The server edge's input datagrams of one edge connection: one receive loop, dispatched by kind and stream id to the
/// inputs channels' <see cref="InputSyncPolicy"/>. Ends with the connection.
/// </summary>
internal sealed class InputDatagramHub
{
    private readonly IDatagramConnection _connection;
    private readonly Dictionary<long, InputSyncPolicy> _channels = new();
    private readonly Lock _lock = new();

    private InputDatagramHub(IDatagramConnection connection) => _connection = connection;

    /// <summary>Starts the hub of a connection (its receive loop runs until the connection ends).</summary>
    public static InputDatagramHub Start(IDatagramConnection connection)
    {
        var hub = new InputDatagramHub(connection);
        _ = hub.ReceiveAsync();
        return hub;
    }

    /// <summary>Routes the datagrams of stream <paramref name="streamId"/> to <paramref name="policy"/> until it is disposed.</summary>
    public void Register(long streamId, InputSyncPolicy policy)
    {
        lock (_lock)
        {
            _channels[streamId] = policy;
        }
    }

    public void Unregister(long streamId, InputSyncPolicy policy)
    {
        lock (_lock)
        {
            if (_channels.TryGetValue(streamId, out var current) && ReferenceEquals(current, policy))
            {
                _channels.Remove(streamId);
            }
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[2048];
        try
        {
            while (true)
            {
                int n = await _connection.ReceiveDatagramAsync(buffer).ConfigureAwait(false);
                Dispatch(buffer.AsSpan(0, n));
            }
        }
        catch (Exception)
        {
            // The connection ended: no more inputs.
        }
    }

    private void Dispatch(ReadOnlySpan<byte> datagram)
    {
        if (!InputWire.TryReadHeader(datagram, out var kind, out var streamId, out var index, out var rest))
        {
            InputMetrics.Malformed.Add(1);
            return;
        }

        InputSyncPolicy? policy;
        lock (_lock)
        {
            _channels.TryGetValue(streamId, out policy);
        }

        if (policy is null)
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
