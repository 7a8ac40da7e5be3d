namespace Accel.Core.Transport;

/// <summary>Handles one received datagram (valid only during the call).</summary>
internal delegate void DatagramHandler(ReadOnlySpan<byte> datagram);

/// <summary>
/// One edge connection's datagrams for one feature: a single receive loop (a connection's datagrams have one reader)
/// and the channels, by stream id, its handler dispatches to. The loop ends with the connection.
/// </summary>
internal sealed class StreamDatagramHub<T>
    where T : class
{
    private readonly Dictionary<long, T> _channels = new();
    private readonly Lock _lock = new();

    public void Register(long streamId, T channel)
    {
        lock (_lock)
        {
            _channels[streamId] = channel;
        }
    }

    /// <summary>Forgets <paramref name="channel"/> unless another took its stream id since.</summary>
    public void Unregister(long streamId, T channel)
    {
        lock (_lock)
        {
            if (_channels.TryGetValue(streamId, out var current) && ReferenceEquals(current, channel))
            {
                _channels.Remove(streamId);
            }
        }
    }

    public T? Find(long streamId)
    {
        lock (_lock)
        {
            return _channels.GetValueOrDefault(streamId);
        }
    }

    /// <summary>Starts the receive loop: each datagram goes to <paramref name="handler"/>, on the loop, until the connection ends.</summary>
    public void Start(IDatagramConnection connection, DatagramHandler handler) => _ = ReceiveAsync(connection, handler);

    private static async Task ReceiveAsync(IDatagramConnection connection, DatagramHandler handler)
    {
        var buffer = new byte[2048];
        try
        {
            while (true)
            {
                int n = await connection.ReceiveDatagramAsync(buffer).ConfigureAwait(false);
                handler(buffer.AsSpan(0, n));
            }
        }
        catch (Exception)
        {
            // The connection ended (or has no datagrams): nothing more to dispatch.
        }
    }
}
