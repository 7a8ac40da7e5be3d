using System.Net.Quic;
using System.Runtime.Versioning;

namespace Accel.Core.Transport.MsQuic;

/// <summary>
/// The stream credit (MAX_STREAMS) the peer has granted this end, from System.Net.Quic's stream-capacity callback. A
/// libmsquic peer grants a new stream only when its application released one (System.Net.Quic delays the update until
/// the stream's handle is closed, and the MsQuic engine closes it only once its reader consumed the end of the stream),
/// an ngtcp2 peer when the stream is finished in its engine (which keeps received data readable after a close). So
/// credit beyond the first grant counts this end's streams the peer is done with: the graceful close waits for it.
/// </summary>
[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal sealed class MsQuicStreamCredit
{
    private readonly Lock _lock = new();
    private long _bidirectional;
    private long _unidirectional;
    private long _initialBidirectional = -1;
    private long _initialUnidirectional = -1;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>System.Net.Quic's <see cref="QuicConnectionOptions.StreamCapacityCallback"/> (the first call is the initial limit).</summary>
    public void OnCapacity(QuicConnection connection, QuicStreamCapacityChangedArgs args)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _bidirectional += args.BidirectionalIncrement;
            _unidirectional += args.UnidirectionalIncrement;
            if (_initialBidirectional < 0)
            {
                _initialBidirectional = _bidirectional;
                _initialUnidirectional = _unidirectional;
            }

            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Waits until the peer has released at least the given numbers of this end's streams.</summary>
    public async Task WaitReleasedAsync(long bidirectional, long unidirectional, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                var (bidi, uni) = _initialBidirectional < 0 ? (0L, 0L) : (_bidirectional - _initialBidirectional, _unidirectional - _initialUnidirectional);
                if (bidi >= bidirectional && uni >= unidirectional)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
