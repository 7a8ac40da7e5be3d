using System.Buffers;
using System.Buffers.Binary;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Tests.Spice.Policies;
using Accel.Core.Transport;
using Microsoft.Extensions.Time.Testing;

namespace Accel.Core.Tests.Spice.Input;

public sealed class InputSyncTests
{
    private static readonly ushort Position = (ushort)SpiceInputsMsgc.MousePosition;
    private static readonly ushort Motion = (ushort)SpiceInputsMsgc.MouseMotion;
    private static readonly ushort Press = (ushort)SpiceInputsMsgc.MousePress;
    private static readonly ushort Release = (ushort)SpiceInputsMsgc.MouseRelease;
    private static readonly ushort KeyDown = (ushort)SpiceInputsMsgc.KeyDown;
    private static readonly ushort KeyUp = (ushort)SpiceInputsMsgc.KeyUp;

    private static byte[] Body<T>(T message)
        where T : struct, ISpiceMessageBody
    {
        var b = new byte[message.BodyLength];
        message.WriteBody(b);
        return b;
    }

    private static byte[] At(uint x, uint y, ushort buttons = 0) => Body(new SpiceMousePosition(x, y, buttons, 0));

    private static byte[] Key(uint scancode)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, scancode);
        return b;
    }

    private static SpiceMousePosition ParsePosition(byte[] body) => SpiceMousePosition.Parse(new ReadOnlySequence<byte>(body));

    [Fact]
    public void PointerDatagram_AheadOfTheStream_IsHeldUntilTheClickBeforeItHasArrived()
    {
        var link = new InputLinkModel();
        link.ClientSends(Position, At(10, 10));
        link.ClientSends(Press, Body(new SpiceMouseButtonEvent(SpiceInputsMsgc.MousePress, 1, 1)));
        link.ClientSends(Position, At(50, 50, 1));
        var datagrams = link.Datagrams.Take();
        Assert.Equal(2, datagrams.Count);
        Assert.Equal([InputWire.MarkerType, Press], link.ClientStream.Messages.ConvertAll(m => m.Type));

        // The position after the click overtakes the stream (which carries the click): it must wait for it.
        link.DeliverDatagram(datagrams[1]);
        Assert.Empty(link.Server.Messages);
        link.DeliverDatagram(datagrams[0]); // sent before the marker that precedes the click: applied at once
        Assert.Equal(10u, ParsePosition(Assert.Single(link.Server.Messages).Body).X);

        link.DeliverStream();
        var server = link.Server.Messages;
        Assert.Equal([Position, Press, Position], server.ConvertAll(m => m.Type));
        Assert.Equal((10u, 10u), (ParsePosition(server[0].Body).X, ParsePosition(server[0].Body).Y));
        Assert.Equal((50u, 50u), (ParsePosition(server[2].Body).X, ParsePosition(server[2].Body).Y));
    }

    [Fact]
    public void PointerDatagram_OlderThanAMarkerThatPassed_IsDropped()
    {
        var link = new InputLinkModel();
        link.ClientSends(Position, At(1, 1));
        link.ClientSends(Position, At(2, 2));
        link.ClientSends(KeyDown, Key(0x1e));
        link.DeliverStream();
        foreach (var d in link.Datagrams.Take())
        {
            link.DeliverDatagram(d);
        }

        Assert.Equal([Position, KeyDown], link.Server.Messages.ConvertAll(m => m.Type));
        Assert.Equal(2u, ParsePosition(link.Server.Messages[0].Body).X);
        Assert.Equal(2, link.Sync.PointerDatagramsStale);
    }

    [Fact]
    public void Pointer_AtRest_ItsLastPositionGoesReliablyAfterTheSettleDelay()
    {
        var link = new InputLinkModel();
        link.ClientSends(Position, At(7, 8));
        link.Datagrams.Take(); // lost
        Assert.Empty(link.ClientStream.Messages);

        link.Time.Advance(PointerDatagramPolicy.SettleDelay);
        Assert.Equal([InputWire.MarkerType], link.ClientStream.Messages.ConvertAll(m => m.Type));
        link.DeliverStream();
        Assert.Equal(7u, ParsePosition(Assert.Single(link.Server.Messages).Body).X);

        link.Time.Advance(PointerDatagramPolicy.SettleDelay);
        Assert.Single(link.ClientStream.Messages); // nothing new to settle
    }

    [Fact]
    public void Pointer_NoRoomForDatagrams_EveryPositionGoesOnTheStreamInOrder()
    {
        var link = new InputLinkModel(maxPayload: 0);
        for (uint i = 1; i <= 5; i++)
        {
            link.ClientSends(Position, At(i, i));
        }

        Assert.Empty(link.Datagrams.Sent);
        link.DeliverStream();
        Assert.Equal([1u, 2u, 3u, 4u, 5u], link.Server.Messages.ConvertAll(m => ParsePosition(m.Body).X));
    }

    [Fact]
    public void RelativeMotion_LostDatagrams_TheNextStateCarriesTheirMovement()
    {
        var link = new InputLinkModel();
        link.ClientSends(Motion, Body(new SpiceMouseMotion(3, 1, 0)));
        link.ClientSends(Motion, Body(new SpiceMouseMotion(4, -2, 0)));
        link.ClientSends(Motion, Body(new SpiceMouseMotion(5, 0, 0)));
        var d = link.Datagrams.Take();
        link.DeliverDatagram(d[2]); // the first two are lost
        link.ClientSends(Press, Body(new SpiceMouseButtonEvent(SpiceInputsMsgc.MousePress, 1, 1)));
        link.DeliverStream();

        var server = link.Server.Messages;
        Assert.Equal([Motion, Press], server.ConvertAll(m => m.Type));
        Assert.Equal(new SpiceMouseMotion(12, -1, 0), SpiceMouseMotion.Parse(new ReadOnlySequence<byte>(server[0].Body)));
    }

    [Fact]
    public void InputCopies_StreamPacketLost_TheCopyDeliversTheKeysOnce_TheStreamsOwnAreDropped()
    {
        var link = new InputLinkModel(InputRedundancyMode.Always);
        link.ClientSends(KeyDown, Key(0x1e));
        link.ClientSends(KeyUp, Key(0x9e));
        Assert.Empty(link.Datagrams.Sent); // the copy waits a few milliseconds, so one burst does not take both
        link.Time.Advance(PointerDatagramPolicy.CopyDelay);
        var copy = Assert.Single(link.Datagrams.Take());
        Assert.Equal(InputWire.CopyKind, copy[0]);

        link.DeliverDatagram(copy);
        Assert.Equal([KeyDown, KeyUp], link.Server.Messages.ConvertAll(m => m.Type));
        link.DeliverStream();
        link.DeliverDatagram(copy); // a duplicated datagram, too
        Assert.Equal([KeyDown, KeyUp], link.Server.Messages.ConvertAll(m => m.Type));
        Assert.Equal(2, link.Sync.DeliveredByCopy);
        Assert.Equal(copy.Length, link.Client.CopyBytes);
    }

    [Fact]
    public void InputCopies_AfterAGap_AreNotTakenOutOfOrder()
    {
        var link = new InputLinkModel(InputRedundancyMode.Always);
        link.ClientSends(KeyDown, Key(0x1e));
        link.Time.Advance(PointerDatagramPolicy.CopyDelay);
        var first = Assert.Single(link.Datagrams.Take());
        link.ClientSends(KeyUp, Key(0x9e));
        link.Time.Advance(PointerDatagramPolicy.CopyDelay);
        var second = Assert.Single(link.Datagrams.Take());

        link.DeliverDatagram(second); // message 1 while message 0 is missing: not taken
        Assert.Empty(link.Server.Messages);
        link.DeliverDatagram(first);
        link.DeliverDatagram(second);
        link.DeliverStream();
        Assert.Equal([KeyDown, KeyUp], link.Server.Messages.ConvertAll(m => m.Type));
    }

    [Fact]
    public void InputCopies_Off_NoCopyIsSent()
    {
        var link = new InputLinkModel(InputRedundancyMode.Off);
        link.ClientSends(KeyDown, Key(0x1e));
        link.Time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Empty(link.Datagrams.Sent);
        Assert.Equal(0, link.Client.CopyBytes);
        Assert.True(link.Client.PayloadBytes > 0);
    }

    [Fact]
    public void Marker_OfTheWrongSize_IsAProtocolViolation()
    {
        var link = new InputLinkModel();
        var ex = Assert.Throws<SpiceProtocolException>(() =>
            PolicyTestKit.Pass(link.Sync, SpiceDirection.ClientToServer, PolicyTestKit.Message(InputWire.MarkerType, new byte[5]), link.Server.Bytes));
        Assert.Contains("pointer marker", ex.Message);
    }

    [Fact]
    public void MalformedDatagrams_AreCountedAndDropped()
    {
        var link = new InputLinkModel();
        link.Sync.OnPointerDatagram(0, new byte[3]);
        var badCopy = new byte[6];
        BinaryPrimitives.WriteUInt16LittleEndian(badCopy, KeyDown);
        BinaryPrimitives.WriteUInt32LittleEndian(badCopy.AsSpan(2), 100);
        link.Sync.OnCopyDatagram(0, badCopy);
        Assert.Equal(2, link.Sync.Malformed);
        Assert.Empty(link.Server.Messages);
        Assert.False(InputWire.TryReadHeader(new byte[4], out _, out _, out _, out _));
        Assert.False(InputWire.TryReadHeader(new byte[20], out _, out _, out _, out _), "kind 0");
    }

    /// <summary>
    /// Random pointer paths with clicks and keys; every pointer datagram is dropped, delivered at once or late, the
    /// stream arrives in random pieces, input copies come and go: spice-server sees each key and button once, in the
    /// client's order, each click at the position the client was at, and the pointer ends where the client left it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RandomLossAndDelay_ClicksStayWithTheirPositions_InputsArriveOnceInOrder(bool relative)
    {
        for (var seed = 1; seed <= 150; seed++)
        {
            RunScenario(new Random(seed), relative, seed);
        }
    }

    private static void RunScenario(Random random, bool relative, int seed)
    {
        var link = new InputLinkModel(random.Next(2) == 0 ? InputRedundancyMode.Always : InputRedundancyMode.Off);
        var late = new List<byte[]>();
        var expected = new List<(ushort Type, int X, int Y)>();
        int x = 100, y = 100;
        for (var step = 0; step < 120; step++)
        {
            var roll = random.Next(10);
            if (roll < 7)
            {
                int dx = random.Next(-5, 6), dy = random.Next(-5, 6);
                x += dx;
                y += dy;
                if (relative)
                {
                    link.ClientSends(Motion, Body(new SpiceMouseMotion(dx, dy, 0)));
                }
                else
                {
                    link.ClientSends(Position, At((uint)x, (uint)y));
                }
            }
            else if (roll < 9)
            {
                var press = random.Next(2) == 0;
                link.ClientSends(press ? Press : Release, Body(new SpiceMouseButtonEvent(press ? SpiceInputsMsgc.MousePress : SpiceInputsMsgc.MouseRelease, 1, 0)));
                expected.Add((press ? Press : Release, x, y));
            }
            else
            {
                link.ClientSends(KeyDown, Key((uint)step));
                expected.Add((KeyDown, x, y));
            }

            link.Time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 12)));
            foreach (var d in link.Datagrams.Take())
            {
                switch (random.Next(3))
                {
                    case 0:
                        break; // lost
                    case 1:
                        link.DeliverDatagram(d);
                        break;
                    default:
                        late.Add(d);
                        break;
                }
            }

            if (random.Next(3) == 0)
            {
                link.DeliverStream(random.Next(1, 4));
            }

            if (late.Count > 0 && random.Next(4) == 0)
            {
                var i = random.Next(late.Count);
                link.DeliverDatagram(late[i]);
                late.RemoveAt(i);
            }

            ServerAcks(link);
        }

        link.Time.Advance(PointerDatagramPolicy.SettleDelay);
        foreach (var d in late)
        {
            link.DeliverDatagram(d);
        }

        link.DeliverStream();
        ServerAcks(link);
        Check(link, expected, relative, (x, y), seed);
    }

    /// <summary>spice-server acknowledges every motion it got, so the coalescer lets the pending one go.</summary>
    private static void ServerAcks(InputLinkModel link)
    {
        for (var i = 0; i < 3; i++)
        {
            PolicyTestKit.Pass(link.Coalescing, SpiceDirection.ServerToClient, PolicyTestKit.Message((ushort)SpiceInputsMsg.MouseMotionAck));
        }
    }

    private static void Check(InputLinkModel link, List<(ushort Type, int X, int Y)> expected, bool relative, (int X, int Y) end, int seed)
    {
        int x = relative ? 100 : -1, y = relative ? 100 : -1;
        var seen = new List<(ushort Type, int X, int Y)>();
        foreach (var (type, body) in link.Server.Messages)
        {
            if (type == Motion)
            {
                var m = SpiceMouseMotion.Parse(new ReadOnlySequence<byte>(body));
                x += m.Dx;
                y += m.Dy;
            }
            else if (type == Position)
            {
                var p = ParsePosition(body);
                (x, y) = ((int)p.X, (int)p.Y);
            }
            else
            {
                Assert.True(type is not InputWire.MarkerType, $"seed {seed}: a marker reached spice-server");
                seen.Add((type, x, y));
            }
        }

        // Before the first move an absolute-mode click has no position yet: the client had none to send either.
        Assert.True(expected.Count == seen.Count, $"seed {seed}: {seen.Count} inputs at the server, {expected.Count} sent");
        for (var i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var s = seen[i];
            Assert.True(e.Type == s.Type, $"seed {seed}: input {i} is {s.Type}, {e.Type} was sent");
            Assert.True(s.X == -1 || (e.X, e.Y) == (s.X, s.Y), $"seed {seed}: input {i} ({e.Type}) landed at {s.X},{s.Y}, the client was at {e.X},{e.Y}");
        }

        Assert.True((x, y) == end, $"seed {seed}: the pointer ended at {x},{y}, the client left it at {end.X},{end.Y}");
    }
}

public sealed class LossMeterTests
{
    [Fact]
    public void Redundancy_Auto_FollowsTheMeasuredLoss()
    {
        var time = new FakeTimeProvider();
        long sent = 0, lost = 0;
        var meter = new LossMeter(() => new ConnectionStatistics { PacketsSent = sent, PacketsLost = lost }, time);
        var auto = new InputRedundancy(InputRedundancyMode.Auto, meter);
        Assert.False(auto.Active);

        sent = 1000;
        lost = 20; // 2 %
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(auto.Active);
        Assert.InRange(meter.Loss, 0.019, 0.021);

        // A clean stretch: the memory of the loss fades within tens of seconds.
        for (var i = 0; i < 40; i++)
        {
            sent += 1000;
            time.Advance(TimeSpan.FromSeconds(1));
            _ = meter.Loss;
        }

        Assert.False(auto.Active);
        Assert.True(new InputRedundancy(InputRedundancyMode.Always, null).Active);
        Assert.False(new InputRedundancy(InputRedundancyMode.Off, meter).Active);
        Assert.False(new InputRedundancy(InputRedundancyMode.Auto, new LossMeter(() => new ConnectionStatistics { PacketsSent = 100 }, time)).Active, "an engine without loss counts reads as no loss");
    }
}
