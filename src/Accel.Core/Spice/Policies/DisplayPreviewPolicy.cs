using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Transport;

namespace Accel.Core.Spice.Policies;

/// <summary>
/// Client edge, display channels: strips the server edge's preview markers from the stream and shows a preview
/// datagram (a DRAW_COPY of canvas pixels) to remote-viewer at once, between relayed messages, while the stream has
/// not delivered that preview's marker yet — after it, the stream may already carry newer pixels of that area, so the
/// datagram is dropped. Shown early, a preview can be overdrawn by older stream messages still on their way; the
/// stream then brings that area up to date in order (its own copy follows the marker), so the picture ends as if
/// previews did not exist. A preview of pixels that an older forwarded message reads (COPY_BITS' source) names a
/// barrier marker: it is held until the stream has delivered that barrier (at most <see cref="MaxHeld"/> wait; more
/// are dropped as late), then written in the barrier's place.
/// </summary>
internal sealed class DisplayPreviewPolicy : IChannelPolicy, ISummarizingPolicy, IDisposable
{
    /// <summary>Previews waiting for their barrier, at most.</summary>
    public const int MaxHeld = 8;

    private const int MaxMessage = 2048;

    private readonly IMessageInjector _toClient;
    private readonly Action<DisplayPreviewPolicy>? _unregister;
    private readonly Lock _lock = new();
    private readonly byte[] _scratch = new byte[MaxMessage];
    private readonly (uint Number, uint After, int Length)[] _held = new (uint, uint, int)[MaxHeld];
    private byte[]? _heldBytes;
    private int _heldCount;
    private uint _streamMarker;

    public DisplayPreviewPolicy(IMessageInjector toClient, Action<DisplayPreviewPolicy>? unregister = null)
    {
        _toClient = toClient;
        _unregister = unregister;
    }

    public long Shown { get; private set; }

    public long Late { get; private set; }

    /// <summary>Previews that waited for a barrier before they were shown or dropped.</summary>
    public long Held { get; private set; }

    public string? Summary => Shown + Late == 0 ? null : $"{Shown} display previews shown ahead of the stream ({Held} held for a barrier first), {Late} late (dropped)";

    public BodyNeed Examine(SpiceDirection direction, ushort type, uint size) =>
        direction == SpiceDirection.ServerToClient && type == DisplayPreviewWire.MarkerType ? BodyNeed.Inspect : BodyNeed.None;

    public void OnStreamed(SpiceDirection direction, ushort type)
    {
    }

    public PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output)
    {
        if (direction != SpiceDirection.ServerToClient || message.Type != DisplayPreviewWire.MarkerType)
        {
            return PolicyVerdict.Forward; // read whole for another policy
        }

        if (message.Body.Length != 4)
        {
            SpiceThrow.Protocol(SpiceProtocolError.InvalidValue, $"a display preview marker of {message.Body.Length} bytes (4 expected)");
        }

        Span<byte> n = stackalloc byte[4];
        message.Body.CopyTo(n);
        lock (_lock)
        {
            _streamMarker = Math.Max(_streamMarker, BinaryPrimitives.ReadUInt32LittleEndian(n));
            if (_heldCount > 0)
            {
                ReleaseHeld(output);
            }
        }

        return PolicyVerdict.Drop;
    }

    /// <summary>
    /// A preview datagram for this channel (<paramref name="message"/>: one DRAW_COPY with its mini header), to be shown
    /// only once the stream has delivered marker <paramref name="after"/> (0: at once).
    /// </summary>
    public void Offer(uint number, uint after, ReadOnlySpan<byte> message)
    {
        lock (_lock)
        {
            if (number <= _streamMarker || message.Length > MaxMessage)
            {
                DropLate();
                return;
            }

            if (after > _streamMarker || _heldCount > 0)
            {
                // Behind a held one too: previews are shown in number order, an older one never over a newer one.
                Hold(number, after, message);
                return;
            }

            // Under the lock: the marker cannot pass between the check and the queueing, so the injected copy is
            // written before anything the stream delivers after the marker.
            message.CopyTo(_scratch);
            _toClient.Inject((_scratch, message.Length), static (p, _, output) => output.Write(p._scratch.AsSpan(0, p.Length)));
            OnShown();
        }
    }

    public void Dispose() => _unregister?.Invoke(this);

    private void Hold(uint number, uint after, ReadOnlySpan<byte> message)
    {
        if (_heldCount == MaxHeld)
        {
            DropLate(); // the stream is far behind: the newest preview is the one least likely to be shown in time
            return;
        }

        _heldBytes ??= new byte[MaxHeld * MaxMessage];
        int slot = FreeSlot();
        message.CopyTo(_heldBytes.AsSpan(slot * MaxMessage));
        _held[slot] = (number, after, message.Length);
        _heldCount++;
        Held++;
    }

    /// <summary>Called at a marker (under the lock): held previews past their barrier are written here, in number order; those past their own marker are dropped.</summary>
    private void ReleaseHeld(IBufferWriter<byte> output)
    {
        while (true)
        {
            int next = -1;
            for (int i = 0; i < MaxHeld; i++)
            {
                if (_held[i].Length > 0 && (next < 0 || _held[i].Number < _held[next].Number))
                {
                    next = i;
                }
            }

            if (next < 0 || (_held[next].Number > _streamMarker && _held[next].After > _streamMarker))
            {
                return; // the oldest still waits for its barrier, and newer ones are never shown before it
            }

            var (number, _, length) = _held[next];
            _held[next] = default;
            _heldCount--;
            if (number <= _streamMarker)
            {
                DropLate();
                continue;
            }

            output.Write(_heldBytes.AsSpan(next * MaxMessage, length));
            OnShown();
        }
    }

    private int FreeSlot()
    {
        int i = 0;
        while (_held[i].Length > 0)
        {
            i++;
        }

        return i;
    }

    private void OnShown()
    {
        Shown++;
        DisplayCanvasMetrics.PreviewsShown.Add(1);
    }

    private void DropLate()
    {
        Late++;
        DisplayCanvasMetrics.PreviewsLate.Add(1);
    }
}

/// <summary>
/// The client edge's preview datagrams of one edge connection: one receive loop, dispatched by stream id to the display
/// channels' <see cref="DisplayPreviewPolicy"/>. Ends with the connection.
/// </summary>
internal sealed class DisplayPreviewHub
{
    private readonly StreamDatagramHub<DisplayPreviewPolicy> _channels = new();

    private DisplayPreviewHub()
    {
    }

    /// <summary>Starts the hub of a connection (its receive loop runs until the connection ends).</summary>
    public static DisplayPreviewHub Start(IDatagramConnection connection)
    {
        var hub = new DisplayPreviewHub();
        hub._channels.Start(connection, hub.Dispatch);
        return hub;
    }

    /// <summary>Routes the previews of stream <paramref name="streamId"/> to <paramref name="policy"/> until it is unregistered.</summary>
    public void Register(long streamId, DisplayPreviewPolicy policy) => _channels.Register(streamId, policy);

    public void Unregister(long streamId, DisplayPreviewPolicy policy) => _channels.Unregister(streamId, policy);

    private void Dispatch(ReadOnlySpan<byte> datagram)
    {
        if (!DisplayPreviewWire.TryParseDatagram(datagram, out long streamId, out uint number, out uint after, out var message))
        {
            DisplayCanvasMetrics.PreviewsMalformed.Add(1);
            return;
        }

        try
        {
            _channels.Find(streamId)?.Offer(number, after, message);
        }
        catch (SpiceProtocolException)
        {
            // That channel's injector is full (remote-viewer does not read): its own loops end it.
        }
    }
}
