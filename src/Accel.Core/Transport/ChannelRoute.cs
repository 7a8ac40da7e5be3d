namespace Accel.Core.Transport;

/// <summary>
/// Where a channel is carried now: the edge connection its stream is on, that connection's datagrams (null when its
/// engine has none) and the stream's id there, which datagrams name the channel by. <paramref name="Connection"/> is
/// null only for a channel outside any edge connection (tests).
/// </summary>
internal sealed record ChannelCarrier(ITransportConnection? Connection, IDatagramConnection? Datagrams, long StreamId)
{
    public static ChannelCarrier Of(ITransportConnection connection, long streamId) => new(connection, connection.Datagrams(), streamId);

    /// <summary>The carrying connection's path statistics (all unknown when it has none).</summary>
    public ConnectionStatistics Statistics() => Connection?.StatisticsOrDefault() ?? default;
}

/// <summary>
/// A channel's <see cref="ChannelCarrier"/>, which a resume changes (<see cref="MoveTo"/>): the channel's datagram
/// features read <see cref="Current"/> as they send, and those that receive keep their entry in the hub of the carrying
/// connection (<see cref="Bind"/>), so previews and pointer datagrams follow the channel to its new connection instead
/// of staying with the lost one. Thread-safe; a carrier is read whole, never a connection with another's stream id.
/// </summary>
internal sealed class ChannelRoute
{
    private readonly Lock _lock = new();
    private readonly List<Binding> _bindings = [];
    private ChannelCarrier _current;

    public ChannelRoute(ChannelCarrier carrier) => _current = carrier;

    public ChannelRoute(ITransportConnection connection, long streamId)
        : this(ChannelCarrier.Of(connection, streamId))
    {
    }

    public ChannelCarrier Current => Volatile.Read(ref _current);

    /// <summary>The channel goes on on stream <paramref name="streamId"/> of <paramref name="connection"/>: bindings leave the old carrier for it.</summary>
    public void MoveTo(ITransportConnection connection, long streamId)
    {
        lock (_lock)
        {
            var previous = _current;
            if (ReferenceEquals(previous.Connection, connection) && previous.StreamId == streamId)
            {
                return;
            }

            var next = ChannelCarrier.Of(connection, streamId);
            Volatile.Write(ref _current, next);
            foreach (var binding in _bindings)
            {
                binding.Detach(previous);
                binding.Attach(next);
            }
        }
    }

    /// <summary>
    /// Calls <paramref name="attach"/> with the current carrier now and with each new one after a move (after
    /// <paramref name="detach"/> with the old one), until the returned binding is disposed (which detaches).
    /// </summary>
    public IDisposable Bind(Action<ChannelCarrier> attach, Action<ChannelCarrier> detach)
    {
        var binding = new Binding(this, attach, detach);
        lock (_lock)
        {
            _bindings.Add(binding);
            attach(_current);
        }

        return binding;
    }

    private sealed class Binding(ChannelRoute route, Action<ChannelCarrier> attach, Action<ChannelCarrier> detach) : IDisposable
    {
        public void Attach(ChannelCarrier carrier) => attach(carrier);

        public void Detach(ChannelCarrier carrier) => detach(carrier);

        public void Dispose()
        {
            lock (route._lock)
            {
                if (route._bindings.Remove(this))
                {
                    detach(route._current);
                }
            }
        }
    }
}
