using System.Buffers;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Tests.Spice.Policies;
using Accel.Core.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Accel.Core.Tests.Spice.Input;

/// <summary>Datagrams a policy sent, kept for the test to deliver, drop or reorder.</summary>
internal sealed class CapturingDatagrams(int maxPayload = 1200) : IDatagramConnection
{
    public List<byte[]> Sent { get; } = [];

    public int MaxDatagramPayloadSize { get; set; } = maxPayload;

    public bool TrySendDatagram(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxDatagramPayloadSize)
        {
            return false;
        }

        Sent.Add(payload.ToArray());
        return true;
    }

    public ValueTask<int> ReceiveDatagramAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("the test delivers datagrams itself");

    public List<byte[]> Take()
    {
        var list = Sent.ToList();
        Sent.Clear();
        return list;
    }
}

/// <summary>
/// One destination as the pump's LegWriter makes it: what the loop writes and what is injected land in one byte
/// stream, injections before anything written after them.
/// </summary>
internal sealed class SharedDestination : IMessageInjector
{
    public ArrayBufferWriter<byte> Bytes { get; } = new();

    public void Inject<TState>(TState state, InjectWriter<TState> write) => write(state, new SpiceMessageWriter(miniHeader: true), Bytes);

    public List<(ushort Type, byte[] Body)> Messages => PolicyTestKit.Frame(Bytes.WrittenMemory.ToArray());
}

/// <summary>The client edge's inputs policies and the server edge's, joined by a stream and datagrams the test controls.</summary>
internal sealed class InputLinkModel
{
    public const long StreamId = 4;

    public InputLinkModel(InputRedundancyMode redundancy = InputRedundancyMode.Off, int maxPayload = 1200)
    {
        Datagrams = new CapturingDatagrams(maxPayload);
        Client = new PointerDatagramPolicy(ClientStream, new ChannelRoute(new ChannelCarrier(null, Datagrams, StreamId)), new InputRedundancy(redundancy, null), Time);
        Coalescing = new MotionCoalescingPolicy(Server);
        Sync = new InputSyncPolicy(Server, Coalescing);
    }

    public FakeTimeProvider Time { get; } = new();

    /// <summary>The client edge's inputs stream toward the server edge (loop writes and timer markers).</summary>
    public SharedDestination ClientStream { get; } = new();

    /// <summary>What spice-server receives.</summary>
    public SharedDestination Server { get; } = new();

    public CapturingDatagrams Datagrams { get; }

    public PointerDatagramPolicy Client { get; }

    public MotionCoalescingPolicy Coalescing { get; }

    public InputSyncPolicy Sync { get; }

    private int _streamDelivered;

    /// <summary>The client sends one message (the pump's way: examine, then the whole message).</summary>
    public void ClientSends(ushort type, byte[] body) =>
        PolicyTestKit.Pass(Client, SpiceDirection.ClientToServer, PolicyTestKit.Message(type, body), ClientStream.Bytes);

    /// <summary>Stream messages written so far and not yet delivered to the server edge.</summary>
    public int StreamBacklog => ClientStream.Messages.Count - _streamDelivered;

    /// <summary>Delivers the next <paramref name="count"/> stream messages to the server edge, in order.</summary>
    public void DeliverStream(int count = int.MaxValue)
    {
        var all = ClientStream.Messages;
        for (var i = 0; i < count && _streamDelivered < all.Count; i++, _streamDelivered++)
        {
            var (type, body) = all[_streamDelivered];
            Assert.False(PolicyTestKit.Pass(Sync, SpiceDirection.ClientToServer, PolicyTestKit.Message(type, body), Server.Bytes),
                "the sync policy writes every inputs message itself");
        }
    }

    /// <summary>Hands a datagram to the server edge as its hub would.</summary>
    public void DeliverDatagram(byte[] datagram)
    {
        Assert.True(InputWire.TryReadHeader(datagram, out var kind, out var id, out var index, out var rest));
        Assert.Equal(StreamId, id);
        if (kind == InputWire.PointerKind)
        {
            Sync.OnPointerDatagram(index, rest);
        }
        else
        {
            Sync.OnCopyDatagram(index, rest);
        }
    }
}
