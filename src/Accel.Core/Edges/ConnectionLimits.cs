using System.Collections.Concurrent;

namespace Accel.Core.Edges;

/// <summary>
/// The channels one edge connection holds: at most <see cref="ServerEdgeSettings.MaxChannelsPerConnection"/> in all
/// and <see cref="ServerEdgeSettings.MaxChannelsPerSession"/> to one backend (one SPICE session's channels share its
/// host and port). A channel enters once its request is read and exits when it ends.
/// </summary>
internal sealed class ConnectionLimits
{
    private readonly Dictionary<(string Host, ushort Port), int> _sessions = [];
    private int _channels;

    /// <summary>Admits a channel to <paramref name="host"/>:<paramref name="port"/>, or says which limit refuses it.</summary>
    public bool TryEnter(string host, ushort port, ServerEdgeSettings settings, out string? refusal)
    {
        lock (_sessions)
        {
            if (_channels >= settings.MaxChannelsPerConnection)
            {
                refusal = $"this edge connection holds {_channels} channels already (Limits:MaxChannelsPerConnection)";
                return false;
            }

            _sessions.TryGetValue((host, port), out var inSession);
            if (inSession >= settings.MaxChannelsPerSession)
            {
                refusal = $"the session to this backend holds {inSession} channels already (Limits:MaxChannelsPerSession)";
                return false;
            }

            _sessions[(host, port)] = inSession + 1;
            _channels++;
            refusal = null;
            return true;
        }
    }

    public void Exit(string host, ushort port)
    {
        lock (_sessions)
        {
            _channels--;
            if (_sessions.TryGetValue((host, port), out var n) && n > 1)
            {
                _sessions[(host, port)] = n - 1;
            }
            else
            {
                _sessions.Remove((host, port));
            }
        }
    }
}

/// <summary>Edge connections per authenticated peer (its key pin), at most <see cref="ServerEdgeSettings.MaxConnectionsPerPeer"/>.</summary>
internal sealed class PeerConnections
{
    private readonly ConcurrentDictionary<string, int> _byPeer = new(StringComparer.Ordinal);

    /// <summary>Counts a new connection of <paramref name="pin"/>; false (and not counted) above the limit.</summary>
    public bool TryAdd(string pin, int limit, out int count)
    {
        while (true)
        {
            var current = _byPeer.GetValueOrDefault(pin);
            count = current + 1;
            if (count > limit)
            {
                return false;
            }

            if (current == 0 ? _byPeer.TryAdd(pin, 1) : _byPeer.TryUpdate(pin, count, current))
            {
                return true;
            }
        }
    }

    public void Remove(string pin)
    {
        while (true)
        {
            var current = _byPeer.GetValueOrDefault(pin);
            if (current <= 1 ? _byPeer.TryRemove(KeyValuePair.Create(pin, current)) : _byPeer.TryUpdate(pin, current - 1, current))
            {
                return;
            }
        }
    }
}
