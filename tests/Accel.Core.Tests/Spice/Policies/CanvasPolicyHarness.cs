using System.Buffers;
using System.Runtime.InteropServices;
using Accel.Core.Spice.Canvas;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Tests.Spice.Display;
using Spice.Codecs;
using Spice.Codecs.Glz;
using B = Accel.Core.Tests.Spice.Canvas.DisplayMessageBuilder;

namespace Accel.Core.Tests.Spice.Policies;

/// <summary>
/// The policy between a fake path (its backlog set by the test) and a client modelled by a second canvas that
/// applies exactly what reaches it: forwarded messages, refreshes written before them, and injected pieces.
/// </summary>
internal sealed class CanvasPolicyHarness : IDisposable
{
    private const ushort SurfaceCreate = 314, Copy = 304;
    private readonly ArrayBufferWriter<byte> _output = new();
    private readonly RecordingInjector _injector;
    private readonly List<byte> _inFlight = [];
    private long _backlog;

    public CanvasPolicyHarness(int width = 32, int height = 32, TimeProvider? time = null, Func<long>? deliveryRate = null, IDisplayPreviewSender? previews = null,
        RecordingInjector? injector = null, Func<double>? loss = null)
    {
        _injector = injector ?? new RecordingInjector();
        var settings = new DisplayBudgetSettings { Floor = 16 * 1024, Ceiling = 16 * 1024, Fallback = 16 * 1024 };
        Policy = new DisplayCanvasPolicy(settings, time ?? TimeProvider.System, () => _backlog, () => default, _injector, sample: false,
            deliveryRate: deliveryRate ?? (() => 0), previews: previews, loss: loss); // unknown rate: lossless unless a test sets one
        Policy.OnForwarded(SpiceDirection.ServerToClient, 1 << 30);
        Send(SurfaceCreate, B.SurfaceCreate(0, width, height));
    }

    public DisplayCanvasPolicy Policy { get; }

    public DisplayCanvas Client { get; } = new();

    public List<ushort> ClientTypes { get; } = [];

    /// <summary>Preview markers the stream carried (stripped before the client, as the client edge does).</summary>
    public List<uint> Markers { get; } = [];

    /// <summary>The GLZ image id of every GLZ or ZLIB_GLZ DRAW_COPY the client got, in order.</summary>
    public List<ulong> ClientGlzIds { get; } = [];

    /// <summary>The destination box (left, top, right, bottom) of every DRAW_COPY the client got, in order.</summary>
    public List<(int L, int T, int R, int B)> ClientCopies { get; } = [];

    /// <summary>Pixels where the client differs from the canvas (surface 0).</summary>
    public int DifferingPixels()
    {
        Assert.True(Policy.Canvas.TryGetSurface(0, out var edge));
        Assert.True(Client.TryGetSurface(0, out var client));
        int n = 0;
        for (int y = 0; y < edge.Height; y++)
        {
            var a = MemoryMarshal.Cast<byte, uint>(edge.Row(y));
            var b = MemoryMarshal.Cast<byte, uint>(client.Row(y));
            for (int x = 0; x < edge.Width; x++)
            {
                n += (a[x] & 0xFFFFFF) == (b[x] & 0xFFFFFF) ? 0 : 1;
            }
        }

        return n;
    }

    public void Backlog(long bytes) => _backlog = bytes;

    /// <summary>While set, what the stream carries stays in flight (not applied to the client) until <see cref="Land"/>.</summary>
    public bool InFlight { get; set; }

    /// <summary>
    /// The stream's in-flight bytes reach the client edge: markers go to <paramref name="clientEdge"/> (which may write
    /// held previews in their place), everything else to the client.
    /// </summary>
    public void Land(DisplayPreviewPolicy clientEdge)
    {
        InFlight = false;
        var bytes = _inFlight.ToArray();
        _inFlight.Clear();
        foreach (var (type, body) in PolicyTestKit.Frame(bytes))
        {
            if (type == DisplayPreviewWire.MarkerType)
            {
                Markers.Add(BitConverter.ToUInt32(body));
                var written = new ArrayBufferWriter<byte>();
                var message = new SpiceMessage(type, 1, new ReadOnlySequence<byte>(body), 0, SpiceDataHeader.MiniLength);
                Assert.Equal(PolicyVerdict.Drop, clientEdge.OnMessage(SpiceDirection.ServerToClient, message, written));
                Deliver(written.WrittenSpan.ToArray());
                continue;
            }

            var framed = new byte[6 + body.Length];
            BitConverter.TryWriteBytes(framed, type);
            BitConverter.TryWriteBytes(framed.AsSpan(2), (uint)body.Length);
            body.CopyTo(framed, 6);
            Deliver(framed);
        }
    }

    /// <summary>One server message through the policy as the pump runs it; true when it was forwarded.</summary>
    public bool Send(ushort type, byte[] body)
    {
        var message = new SpiceMessage(type, 1, new ReadOnlySequence<byte>(body), 0, SpiceDataHeader.MiniLength);
        Assert.Equal(BodyNeed.Transform, Policy.Examine(SpiceDirection.ServerToClient, type, (uint)body.Length));
        bool forwarded = Policy.OnMessage(SpiceDirection.ServerToClient, message, _output) == PolicyVerdict.Forward;
        if (forwarded)
        {
            var header = new byte[6];
            BitConverter.TryWriteBytes(header, type);
            BitConverter.TryWriteBytes(header.AsSpan(2), (uint)body.Length);
            _output.Write(header);
            _output.Write(body);
        }

        if (InFlight)
        {
            _inFlight.AddRange(_output.WrittenSpan);
        }
        else
        {
            Deliver(_output.WrittenMemory.ToArray());
        }

        if (_output.WrittenCount > 0)
        {
            Policy.OnForwarded(SpiceDirection.ServerToClient, _output.WrittenCount); // the pump's flush report
        }

        _output.ResetWrittenCount();
        return forwarded;
    }

    public void DrainInjected() => Deliver(_injector.Take());

    /// <summary>Applies one framed message (a preview's DRAW_COPY) to the client, as the client edge injects it.</summary>
    public void ApplyToClient(byte[] framed) => Deliver(framed);

    public void AssertClientEqualsCanvas()
    {
        Assert.True(Policy.Canvas.TryGetSurface(0, out var edge));
        Assert.True(Client.TryGetSurface(0, out var client));
        for (int y = 0; y < edge.Height; y++)
        {
            var a = MemoryMarshal.Cast<byte, uint>(edge.Row(y));
            var b = MemoryMarshal.Cast<byte, uint>(client.Row(y));
            for (int x = 0; x < edge.Width; x++)
            {
                Assert.True((a[x] & 0xFFFFFF) == (b[x] & 0xFFFFFF), $"pixel ({x},{y}): edge {a[x]:X8}, client {b[x]:X8}");
            }
        }
    }

    public void Dispose()
    {
        Policy.Dispose();
        Client.Dispose();
    }

    private void Deliver(byte[] bytes)
    {
        foreach (var (type, body) in PolicyTestKit.Frame(bytes))
        {
            if (type == DisplayPreviewWire.MarkerType)
            {
                Markers.Add(BitConverter.ToUInt32(body));
                continue;
            }

            ClientTypes.Add(type);
            if (type == Copy)
            {
                // DisplayBase: surface id, then the box as top, left, bottom, right.
                var s = body.AsSpan();
                ClientCopies.Add((BitConverter.ToInt32(s[8..]), BitConverter.ToInt32(s[4..]), BitConverter.ToInt32(s[16..]), BitConverter.ToInt32(s[12..])));
                if (GlzIdOf(s) is { } glzId)
                {
                    ClientGlzIds.Add(glzId);
                }
            }

            Client.Apply(type, body);
        }
    }

    /// <summary>A DRAW_COPY's source image GLZ id (its header, inflated first for ZLIB_GLZ); null for other types.</summary>
    private static ulong? GlzIdOf(ReadOnlySpan<byte> copy)
    {
        var image = copy[(int)BitConverter.ToUInt32(copy[21..])..];
        var payload = image[SpiceImageDescriptor.Size..];
        Span<byte> header = new byte[GlzHeader.Size];
        switch ((SpiceImageType)image[8])
        {
            case SpiceImageType.GlzRgb:
                payload.Slice(4, GlzHeader.Size).CopyTo(header);
                break;
            case SpiceImageType.ZlibGlzRgb:
                int glzSize = (int)BitConverter.ToUInt32(payload);
                var glz = new byte[glzSize];
                Assert.Equal(OperationStatus.Done, ZlibGlzCodec.Decompress(payload[8..], glzSize, glz, out _));
                glz.AsSpan(0, GlzHeader.Size).CopyTo(header);
                break;
            default:
                return null;
        }

        Assert.Equal(OperationStatus.Done, GlzHeader.TryRead(header, CodecLimits.Default, out var h));
        return h.Id;
    }
}

internal sealed class RecordingPreviewSender : IDisplayPreviewSender
{
    public List<(uint Number, byte[] Message)> Sent { get; } = [];

    /// <summary>The barrier each preview waits for (0: none), by preview number.</summary>
    public Dictionary<uint, uint> After { get; } = [];

    public int MaxMessageLength => 1200 - DisplayPreviewWire.DatagramAfterHeaderLength;

    public bool TrySend(uint number, uint after, ReadOnlySpan<byte> message)
    {
        Sent.Add((number, message.ToArray()));
        After[number] = after;
        return true;
    }
}
