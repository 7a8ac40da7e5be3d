using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Transport;

namespace Accel.Core.Spice.Input;

/// <summary>
/// Client edge, inputs channel toward a server edge that takes input datagrams (<see cref="InputWire"/>): pointer
/// motion leaves as datagrams (latest wins), everything else stays on the stream, and before any other message — and
/// once the pointer rests for <see cref="SettleDelay"/> — a marker carries the latest pointer state reliably, so the
/// server edge never applies a click before its position and the resting position always arrives. Under loss
/// (<see cref="InputRedundancy"/>) every stream message is repeated in an input copy datagram
/// <see cref="CopyDelay"/> later (messages within that time share one copy), so one lost packet costs no retransmission
/// timeout. Every stream message is written here, under one lock with the timers' markers, so the indices the
/// datagrams name are the stream's order. Datagrams go on the connection that carries the channel now, named by its
/// stream id there (<see cref="ChannelRoute"/>: a resume moves both; the indices go on). Runs after <see cref="MotionAckPolicy"/>, which answers the client's motion.
/// </summary>
internal sealed class PointerDatagramPolicy : ClientMessagePolicy, ISummarizingPolicy, IDisposable
{
    /// <summary>How long the pointer rests before its last position goes reliably.</summary>
    public static readonly TimeSpan SettleDelay = TimeSpan.FromMilliseconds(25);

    /// <summary>How long after a stream message its copy goes: apart enough that a short burst loses not both.</summary>
    public static readonly TimeSpan CopyDelay = TimeSpan.FromMilliseconds(4);

    private readonly IMessageInjector _toServer;
    private readonly ChannelRoute _route;
    private readonly InputRedundancy _redundancy;
    private readonly PointerTracker _pointer = new();
    private readonly ArrayBufferWriter<byte> _message = new(256);
    private readonly byte[] _pointerDatagram = new byte[InputWire.PointerDatagramLength];
    private readonly byte[] _copies = new byte[1200];
    private readonly ITimer _settle;
    private readonly ITimer _copyTimer;
    private readonly Lock _lock = new();
    private uint _written;
    private int _copyLength;
    private uint _copyFirst;
    private bool _disposed;

    public PointerDatagramPolicy(IMessageInjector toServer, ChannelRoute route, InputRedundancy redundancy, TimeProvider time)
    {
        _toServer = toServer;
        _route = route;
        _redundancy = redundancy;
        _settle = time.CreateTimer(static s => ((PointerDatagramPolicy)s!).OnSettle(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _copyTimer = time.CreateTimer(static s => ((PointerDatagramPolicy)s!).OnCopyDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public long PointerDatagrams { get; private set; }

    public long Markers { get; private set; }

    public long CopyDatagrams { get; private set; }

    public long CopyBytes { get; private set; }

    public long PayloadBytes { get; private set; }

    public string? Summary => PointerDatagrams + Markers + CopyDatagrams == 0 ? null
        : $"{PointerDatagrams} pointer datagrams, {Markers} pointer markers, {CopyDatagrams} input copies ({CopyBytes} bytes for {PayloadBytes} bytes of inputs)";

    protected override void OnClientMessage(in SpiceMessage message, IBufferWriter<byte> output)
    {
        lock (_lock)
        {
            if (MotionAckResponder.IsMotion(message.Type))
            {
                var state = _pointer.OnMotion(message.Type, message.Body);
                if (TrySendPointer(state))
                {
                    _settle.Change(SettleDelay, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    WriteMarker(output); // no room for a datagram now: this position goes reliably
                }

                return;
            }

            if (_pointer.Unsynced)
            {
                WriteMarker(output);
            }

            _message.ResetWrittenCount();
            var header = _message.GetSpan(SpiceDataHeader.MiniLength);
            BinaryPrimitives.WriteUInt16LittleEndian(header, message.Type);
            BinaryPrimitives.WriteUInt32LittleEndian(header[2..], (uint)message.Body.Length);
            _message.Advance(SpiceDataHeader.MiniLength);
            foreach (var segment in message.Body)
            {
                _message.Write(segment.Span);
            }

            Emit(output, _message.WrittenSpan);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        _settle.Dispose();
        _copyTimer.Dispose();
    }

    private bool TrySendPointer(in PointerState state)
    {
        var carrier = _route.Current;
        if (carrier.Datagrams is not { MaxDatagramPayloadSize: >= InputWire.PointerDatagramLength } datagrams)
        {
            return false;
        }

        InputWire.WriteHeader(_pointerDatagram, InputWire.PointerKind, carrier.StreamId, _written);
        state.Write(_pointerDatagram.AsSpan(InputWire.DatagramHeaderLength));
        if (!datagrams.TrySendDatagram(_pointerDatagram))
        {
            return false;
        }

        _pointer.SentAsDatagram();
        PointerDatagrams++;
        InputMetrics.PointerDatagrams.Add(1);
        return true;
    }

    private void WriteMarker(IBufferWriter<byte> output)
    {
        _message.ResetWrittenCount();
        InputWire.WriteMarker(_message, _pointer.Latest);
        _pointer.MarkerWritten();
        Markers++;
        InputMetrics.PointerMarkers.Add(1);
        Emit(output, _message.WrittenSpan);
    }

    /// <summary>Writes one stream message (index <see cref="_written"/>) and keeps its copy when redundancy is on.</summary>
    private void Emit(IBufferWriter<byte> output, ReadOnlySpan<byte> message)
    {
        output.Write(message);
        PayloadBytes += message.Length;
        InputMetrics.PayloadBytes.Add(message.Length);
        AddCopy(message);
        _written++;
    }

    private void AddCopy(ReadOnlySpan<byte> message)
    {
        var capacity = Math.Min(_copies.Length, _route.Current.Datagrams?.MaxDatagramPayloadSize ?? 0);
        if (_copyLength > 0 && _copyLength + message.Length > capacity)
        {
            FlushCopies();
        }

        if (_copyLength == 0)
        {
            if (InputWire.DatagramHeaderLength + message.Length > capacity || !_redundancy.Active)
            {
                return;
            }

            _copyFirst = _written;
            _copyLength = InputWire.DatagramHeaderLength;
            _copyTimer.Change(CopyDelay, Timeout.InfiniteTimeSpan);
        }

        message.CopyTo(_copies.AsSpan(_copyLength));
        _copyLength += message.Length;
    }

    private void FlushCopies()
    {
        var carrier = _route.Current;
        InputWire.WriteHeader(_copies, InputWire.CopyKind, carrier.StreamId, _copyFirst);
        if (carrier.Datagrams?.TrySendDatagram(_copies.AsSpan(0, _copyLength)) == true)
        {
            CopyDatagrams++;
            CopyBytes += _copyLength;
            InputMetrics.RedundancyBytes.Add(_copyLength);
        }

        _copyLength = 0;
    }

    private void OnSettle()
    {
        lock (_lock)
        {
            if (_disposed || !_pointer.Unsynced)
            {
                return;
            }

            try
            {
                // Injected toward the server edge: written before anything the loop writes after it, in index order.
                _toServer.Inject(this, static (p, _, o) => p.WriteMarker(o));
            }
            catch (SpiceProtocolException)
            {
                // The stream does not drain (a stuck server edge): the channel's own loops end it.
            }
        }
    }

    private void OnCopyDue()
    {
        lock (_lock)
        {
            if (!_disposed && _copyLength > 0)
            {
                FlushCopies();
            }
        }
    }
}
