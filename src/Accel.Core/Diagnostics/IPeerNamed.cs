using Accel.Core.Transport;

namespace Accel.Core.Diagnostics;

/// <summary>
/// A connection that knows the configured name of the edge at its other end (the edge host wraps each connection so);
/// metrics label per-peer series with it (<see cref="AccelMetrics.PeerLabel(ITransportConnection)"/>).
/// </summary>
public interface IPeerNamed
{
    string PeerName { get; }
}
