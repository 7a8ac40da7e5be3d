using System.Threading.Tasks.Sources;
using Accel.Core.Transport;

namespace Accel.Core.Transport.Scheduling;

/// <summary>
/// Priority for engines that have none (System.Net.Quic): bounds how much Main/Display/Bulk data is handed to the
/// engine beyond what the link is carrying, and lets those writers in by <see cref="PriorityScheduler{T}"/> order.
/// Control, Input and Cursor writes are never gated; while any of them is outstanding, the weighted classes get
/// only a quarter of their write-ahead, so urgent frames are not stuck behind bulk data inside the engine.
/// </summary>
/// <remarks>
/// Each writer (one per stream; one pending write per stream, as System.Net.Quic allows) owns a
/// <see cref="Ticket"/> that is reused for every write, so steady state allocates nothing.
/// </remarks>
public sealed class WriteArbiter
{
    private readonly Lock _lock = new();
    private readonly PriorityScheduler<Ticket> _scheduler;
    private long _writeAhead;
    private long _lowOutstanding;
    private int _strictOutstanding;

    public WriteArbiter(long writeAheadBytes, SchedulerOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(writeAheadBytes, 1);
        _writeAhead = writeAheadBytes;
        _scheduler = new PriorityScheduler<Ticket>(options);
    }

    /// <summary>Bytes of weighted-class data handed to the engine and not yet released.</summary>
    public long LowClassOutstanding
    {
        get
        {
            lock (_lock)
            {
                return _lowOutstanding;
            }
        }
    }

    /// <summary>Writers waiting for a grant (a gauge).</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _scheduler.Count;
            }
        }
    }

    /// <summary>Updates the write-ahead (e.g. from a measured bandwidth-delay product).</summary>
    public void SetWriteAhead(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        lock (_lock)
        {
            _writeAhead = bytes;
            PumpLocked();
        }
    }

    public Ticket CreateTicket() => new(this);

    private long EffectiveLimitLocked() => _strictOutstanding > 0 ? Math.Max(1, _writeAhead / 4) : _writeAhead;

    private void PumpLocked()
    {
        while (_scheduler.Count > 0 && (_lowOutstanding == 0 || _lowOutstanding < EffectiveLimitLocked()))
        {
            if (!_scheduler.TryDequeue(out var grant))
            {
                return;
            }

            var ticket = grant.Sender;
            _lowOutstanding += ticket.Bytes;
            _scheduler.Complete(grant, ticket.Bytes);
            ticket.Granted = true;
            ticket.Core.SetResult(true);
        }
    }

    /// <summary>One writer's reusable permission slip.</summary>
    public sealed class Ticket : IValueTaskSource<bool>
    {
        private readonly WriteArbiter _owner;
        private CancellationTokenRegistration _registration;
        internal ManualResetValueTaskSourceCore<bool> Core;

        internal Ticket(WriteArbiter owner)
        {
            _owner = owner;
            Core.RunContinuationsAsynchronously = true;
        }

        internal int Bytes { get; private set; }

        internal byte Urgency { get; private set; }

        internal bool Granted { get; set; }

        /// <summary>Waits until <paramref name="bytes"/> of urgency <paramref name="urgency"/> may be handed to the engine.</summary>
        public ValueTask AcquireAsync(byte urgency, int bytes, CancellationToken cancellationToken)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(bytes);
            var owner = _owner;
            lock (owner._lock)
            {
                Urgency = urgency;
                Bytes = bytes;
                if (SchedulerOptions.IsStrict(urgency))
                {
                    owner._strictOutstanding++;
                    Granted = true;
                    return ValueTask.CompletedTask;
                }

                if (owner._scheduler.Count == 0 && (owner._lowOutstanding == 0 || owner._lowOutstanding + bytes <= owner.EffectiveLimitLocked()))
                {
                    owner._lowOutstanding += bytes;
                    Granted = true;
                    return ValueTask.CompletedTask;
                }

                Granted = false;
                Core.Reset();
                owner._scheduler.Enqueue(this, urgency);
            }

            if (cancellationToken.CanBeCanceled)
            {
                _registration = cancellationToken.UnsafeRegister(static (state, token) => ((Ticket)state!).Cancel(token), this);
            }

            return WaitAsync();
        }

        private async ValueTask WaitAsync()
        {
            try
            {
                await new ValueTask<bool>(this, Core.Version).ConfigureAwait(false);
            }
            finally
            {
                await _registration.DisposeAsync().ConfigureAwait(false);
                _registration = default;
            }
        }

        /// <summary>The engine has taken (completed) the write; frees its share.</summary>
        public void Release()
        {
            var owner = _owner;
            lock (owner._lock)
            {
                if (!Granted)
                {
                    return;
                }

                Granted = false;
                if (SchedulerOptions.IsStrict(Urgency))
                {
                    owner._strictOutstanding--;
                }
                else
                {
                    owner._lowOutstanding -= Bytes;
                }

                owner.PumpLocked();
            }
        }

        private void Cancel(CancellationToken token)
        {
            lock (_owner._lock)
            {
                if (Granted || !_owner._scheduler.Remove(this))
                {
                    return;
                }
            }

            Core.SetException(new OperationCanceledException(token));
        }

        bool IValueTaskSource<bool>.GetResult(short token) => Core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => Core.GetStatus(token);

        void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
            => Core.OnCompleted(continuation, state, token, flags);
    }
}
