using System.Net;
using Accel.Core.Diagnostics;
using Accel.Core.Transport;

namespace Accel.Edge.Status;

/// <summary>
/// Wraps the QUIC engine so the edge can tell who is connected and what is relayed (for `/status`, `/ready` and the
/// logs) without the relay knowing: every connection and stream goes through a thin decorator that counts bytes.
/// </summary>
internal sealed class ObservedEngine(ITransportEngine inner, EdgeActivity activity) : ITransportEngine
{
    public string Name => inner.Name;

    public bool IsSupported => inner.IsSupported;

    public string? UnsupportedReason => inner.UnsupportedReason;

    public string Version => inner.Version;

    public TransportCapabilities Capabilities => inner.Capabilities;

    public bool Runs(CongestionControlAlgorithm algorithm) => inner.Runs(algorithm);

    public async ValueTask<ITransportListener> ListenAsync(TransportListenerOptions options, CancellationToken cancellationToken = default)
        => new ObservedListener(await inner.ListenAsync(options, cancellationToken).ConfigureAwait(false), activity);

    public async ValueTask<ITransportConnection> ConnectAsync(TransportClientOptions options, CancellationToken cancellationToken = default)
        => activity.Add(await inner.ConnectAsync(options, cancellationToken).ConfigureAwait(false));
}

internal sealed class ObservedListener(ITransportListener inner, EdgeActivity activity) : ITransportListener
{
    public IPEndPoint LocalEndPoint => inner.LocalEndPoint;

    public async ValueTask<ITransportConnection> AcceptAsync(CancellationToken cancellationToken = default)
        => activity.Add(await inner.AcceptAsync(cancellationToken).ConfigureAwait(false));

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>
/// Forwards <see cref="IConnectionStatistics"/> (both engines have it; an inner connection without it reads as all
/// unknown); datagrams are reached through <see cref="ITransportConnectionDecorator.Inner"/> (<see cref="TransportFeatures.Datagrams"/>).
/// </summary>
internal sealed class ObservedConnection(ITransportConnection inner, string peerName, EdgeActivity activity) : ITransportConnection, IConnectionStatistics, ITransportConnectionDecorator, IPeerNamed
{
    public ITransportConnection Inner => inner;

    private readonly Dictionary<ObservedStream, byte> _streams = [];

    public string PeerName { get; } = peerName;

    public DateTime Since { get; } = DateTime.UtcNow;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public string NegotiatedAlpn => inner.NegotiatedAlpn;

    public ReadOnlyMemory<byte> PeerSpkiSha256 => inner.PeerSpkiSha256;

    public TransportCapabilities Capabilities => inner.Capabilities;

    public Task<TransportException> Closed => inner.Closed;

    public bool IsOpen => !inner.Closed.IsCompleted;

    public async ValueTask<ITransportStream> OpenStreamAsync(StreamDirection direction, byte urgency, CancellationToken cancellationToken = default)
        => Add(new ObservedStream(await inner.OpenStreamAsync(direction, urgency, cancellationToken).ConfigureAwait(false), requestIsWritten: true, this));

    public async ValueTask<ITransportStream> AcceptStreamAsync(CancellationToken cancellationToken = default)
        => Add(new ObservedStream(await inner.AcceptStreamAsync(cancellationToken).ConfigureAwait(false), requestIsWritten: false, this));

    public ConnectionStatistics GetStatistics() => inner.StatisticsOrDefault();

    public ValueTask CloseAsync(long applicationErrorCode, CancellationToken cancellationToken = default) => inner.CloseAsync(applicationErrorCode, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        activity.Remove(this);
        await inner.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>The streams open now (a copy; taken for /status).</summary>
    public ObservedStream[] Streams()
    {
        lock (_streams)
        {
            return [.. _streams.Keys];
        }
    }

    internal void Remove(ObservedStream stream)
    {
        lock (_streams)
        {
            _streams.Remove(stream);
        }
    }

    private ObservedStream Add(ObservedStream stream)
    {
        lock (_streams)
        {
            _streams[stream] = 0;
        }

        return stream;
    }
}
