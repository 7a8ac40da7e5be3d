using System.Threading.Tasks.Sources;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// A reusable wait for one pending read or write of a stream (one at a time by contract), so a blocked read or
/// write does not allocate a task. <see cref="Arm"/> and <see cref="Signal"/> run under the stream's lock.
/// </summary>
internal sealed class StreamWaiter : IValueTaskSource
{
    private readonly object _gate;
    private ManualResetValueTaskSourceCore<bool> _core;
    private bool _armed;

    public StreamWaiter(object gate)
    {
        _gate = gate;
        _core.RunContinuationsAsynchronously = true;
    }

    public ValueTask Arm()
    {
        _core.Reset();
        _armed = true;
        return new ValueTask(this, _core.Version);
    }

    public void Signal()
    {
        if (_armed)
        {
            _armed = false;
            _core.SetResult(true);
        }
    }

    public CancellationTokenRegistration RegisterCancellation(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((StreamWaiter)state!).Cancel(token), this)
            : default;

    private void Cancel(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_armed)
            {
                _armed = false;
                _core.SetException(new OperationCanceledException(cancellationToken));
            }
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
