using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Input;

/// <summary>
/// Server edge, inputs channel of a client edge that sends pointer datagrams and input copies (<see cref="InputWire"/>):
/// puts the stream's messages, the copies and the pointer states back into one order toward spice-server
/// (<see cref="InputSequencer"/>), and hands each message to the <see cref="MotionCoalescingPolicy"/> after it, which
/// keeps spice-server's 8-motions-in-flight rule. Markers and duplicates never reach spice-server. Stream messages come
/// from the channel's loop, datagrams from the connection's <see cref="InputDatagramHub"/>; one lock orders both, and
/// what a datagram releases is injected toward spice-server (written before anything the loop writes after it).
/// </summary>
internal sealed class InputSyncPolicy : ClientMessagePolicy, ISummarizingPolicy, IDisposable
{
    private readonly IMessageInjector _toServer;
    private readonly MotionCoalescingPolicy _coalescing;
    private readonly Action<InputSyncPolicy>? _unregister;
    private readonly InputSequencer _sequencer = new();
    private readonly ArrayBufferWriter<byte> _scratch = new(512);
    private readonly byte[] _motion = new byte[InputSequencer.MaxMotionBody];
    private readonly byte[] _copy = new byte[2048];
    private readonly Lock _lock = new();

    public InputSyncPolicy(IMessageInjector toServer, MotionCoalescingPolicy coalescing, Action<InputSyncPolicy>? unregister = null)
    {
        _toServer = toServer;
        _coalescing = coalescing;
        _unregister = unregister;
    }

    public long PointerDatagramsApplied { get; private set; }

    public long PointerDatagramsStale { get; private set; }

    public long MarkersApplied { get; private set; }

    public long Malformed { get; private set; }

    public long DeliveredByCopy
    {
        get
        {
            lock (_lock)
            {
                return _sequencer.DeliveredByCopy;
            }
        }
    }

    public string? Summary => PointerDatagramsApplied + MarkersApplied + DeliveredByCopy == 0 ? null
        : $"{PointerDatagramsApplied} pointer datagrams applied ({PointerDatagramsStale} stale), {MarkersApplied} pointer markers applied, {DeliveredByCopy} inputs delivered by their copy before the stream";

    protected override void OnClientMessage(in SpiceMessage message, IBufferWriter<byte> output)
    {
        lock (_lock)
        {
            if (_sequencer.OnStreamMessage())
            {
                Process(message.Type, message.Body, output, byCopy: false);
            }
        }
    }

    /// <summary>A pointer datagram for this channel (<paramref name="state"/>: the pointer state after the header).</summary>
    public void OnPointerDatagram(uint after, ReadOnlySpan<byte> state)
    {
        if (!PointerState.TryRead(state, out var pointer))
        {
            Malformed++;
            InputMetrics.Malformed.Add(1);
            return;
        }

        lock (_lock)
        {
            switch (_sequencer.OnDatagram(after, pointer))
            {
                case PointerVerdict.Apply:
                    _scratch.ResetWrittenCount();
                    Apply(pointer, _scratch);
                    PointerDatagramsApplied++;
                    InjectScratch();
                    break;
                case PointerVerdict.Stale:
                    PointerDatagramsStale++;
                    break;
            }
        }
    }

    /// <summary>An input copy for this channel: stream messages from index <paramref name="first"/> on, in order.</summary>
    public void OnCopyDatagram(uint first, ReadOnlySpan<byte> messages)
    {
        if (messages.Length > _copy.Length)
        {
            return;
        }

        lock (_lock)
        {
            messages.CopyTo(_copy);
            _scratch.ResetWrittenCount();
            var index = first;
            var offset = 0;
            try
            {
                while (messages.Length - offset >= SpiceDataHeader.MiniLength && index <= _sequencer.Processed)
                {
                    var type = BinaryPrimitives.ReadUInt16LittleEndian(messages[offset..]);
                    var size = BinaryPrimitives.ReadUInt32LittleEndian(messages[(offset + 2)..]);
                    if (size > (uint)(messages.Length - offset - SpiceDataHeader.MiniLength))
                    {
                        Malformed++;
                        InputMetrics.Malformed.Add(1);
                        break;
                    }

                    if (_sequencer.IsNext(index))
                    {
                        Process(type, new ReadOnlySequence<byte>(_copy, offset + SpiceDataHeader.MiniLength, (int)size), _scratch, byCopy: true);
                        InputMetrics.DeliveredByCopy.Add(1);
                    }

                    offset += SpiceDataHeader.MiniLength + (int)size;
                    index++;
                }
            }
            catch (SpiceProtocolException)
            {
                // A copy the stream will bring again, well-formed or not: the stream's own copy decides.
                Malformed++;
                InputMetrics.Malformed.Add(1);
            }

            InjectScratch();
        }
    }

    public void Dispose() => _unregister?.Invoke(this);

    /// <summary>One stream message (from the stream or its copy), then the held pointer datagram if its moment came.</summary>
    private void Process(ushort type, in ReadOnlySequence<byte> body, IBufferWriter<byte> output, bool byCopy)
    {
        if (type == InputWire.MarkerType)
        {
            Span<byte> s = stackalloc byte[PointerState.Length];
            if (body.Length != PointerState.Length)
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a pointer marker of {body.Length} bytes ({PointerState.Length} expected)");
            }

            body.CopyTo(s);
            if (!PointerState.TryRead(s, out var marker))
            {
                SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, "a pointer marker of an unknown motion type");
            }

            if (_sequencer.IsNewer(marker))
            {
                Apply(marker, output);
                MarkersApplied++;
            }
        }
        else
        {
            _coalescing.Submit(type, body, output);
        }

        _sequencer.MarkProcessed(byCopy);
        if (_sequencer.TakeHeld(out var held))
        {
            Apply(held, output);
            PointerDatagramsApplied++;
        }
    }

    private void Apply(in PointerState state, IBufferWriter<byte> output)
    {
        var type = _sequencer.Apply(state, _motion, out var length);
        _coalescing.Submit(type, new ReadOnlySequence<byte>(_motion, 0, length), output);
    }

    private void InjectScratch()
    {
        if (_scratch.WrittenCount > 0)
        {
            _toServer.Inject(_scratch, static (s, _, o) => o.Write(s.WrittenSpan));
        }
    }
}
