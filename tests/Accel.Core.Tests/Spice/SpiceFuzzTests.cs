using System.Buffers;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Framing;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Spice.Policies;
using CsCheck;
using Accel.Core.Spice.Protocol;

namespace Accel.Core.Tests.Spice;

/// <summary>
/// Property tests: random and half-valid inputs, randomly split, into every parser. The only exception allowed is
/// <see cref="SpiceProtocolException"/>; anything else (IndexOutOfRange, Overflow, ArgumentOutOfRange…) fails.
/// </summary>
public sealed class SpiceFuzzTests
{
    private const long Iterations = 4000;

    private static readonly Gen<byte[]> s_garbage = Gen.Byte.Array[0, 96];

    // A plausible link header ("REDQ" 2.x, small size) followed by random bytes: reaches the caps checks.
    private static readonly Gen<byte[]> s_linkLike =
        Gen.Select(Gen.UInt[0, 4], Gen.UInt[0, 400], Gen.Byte.Array[0, 400], (minor, size, body) =>
        {
            var bytes = new byte[16 + body.Length];
            "REDQ"u8.CopyTo(bytes);
            BitConverter.TryWriteBytes(bytes.AsSpan(4), 2u);
            BitConverter.TryWriteBytes(bytes.AsSpan(8), minor);
            BitConverter.TryWriteBytes(bytes.AsSpan(12), size);
            body.CopyTo(bytes, 16);
            return bytes;
        });

    // A body whose first words are small numbers (counts, sizes, offsets that land inside the body).
    private static readonly Gen<byte[]> s_structured =
        Gen.Select(Gen.Byte.Array[4, 120], Gen.Int[0, 40], Gen.Int[0, 10], (bytes, small, index) =>
        {
            var position = Math.Min(index * 2, bytes.Length - 2);
            bytes[position] = (byte)small;
            bytes[position + 1] = 0;
            return bytes;
        });

    private static readonly Gen<(byte[] Bytes, int Seed)> s_input =
        Gen.Select(Gen.OneOf(s_garbage, s_linkLike, s_structured), Gen.Int);

    private static void OnlyProtocolErrors(Action action)
    {
        try
        {
            action();
        }
        catch (SpiceProtocolException)
        {
        }
    }

    private static ReadOnlySequence<byte> Shape(byte[] bytes, int seed) =>
        (seed & 3) switch
        {
            0 => new ReadOnlySequence<byte>(bytes),
            1 => TestSequence.BytePerSegment(bytes),
            _ => TestSequence.RandomSplit(bytes, seed),
        };

    [Fact]
    public void LinkParsers_RandomInput_OnlyProtocolErrors()
    {
        s_input.Sample((bytes, seed) =>
        {
            OnlyProtocolErrors(() =>
            {
                var buffer = Shape(bytes, seed);
                SpiceLinkHeader.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out _);
            });
            OnlyProtocolErrors(() =>
            {
                var buffer = Shape(bytes, seed);
                if (SpiceLinkMess.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out var mess))
                {
                    // Whatever parsed must write back and parse again to the same message.
                    var again = new ReadOnlySequence<byte>(ParserAssert.Bytes(mess!.WriteTo));
                    Assert.True(SpiceLinkMess.TryParse(ref again, SpiceLinkHeader.DefaultMaxSize, out var reparsed));
                    Assert.Equal(mess, reparsed);
                }
            });
            OnlyProtocolErrors(() =>
            {
                var buffer = Shape(bytes, seed);
                SpiceLinkReply.TryParse(ref buffer, 300, out _);
            });
            OnlyProtocolErrors(() =>
            {
                var buffer = Shape(bytes, seed);
                SpiceLinkAuth.TryReadAuthMechanism(ref buffer, out _);
                SpiceLinkAuth.TryReadEncryptedTicket(ref buffer, out _);
                SpiceLinkAuth.TryReadLinkResult(ref buffer, out _);
            });
        }, iter: Iterations);
    }

    [Fact]
    public void MessageReader_RandomStream_OnlyProtocolErrorsAndConsistentFraming()
    {
        s_input.Sample((bytes, seed) =>
        {
            foreach (var mini in new[] { true, false })
            {
                OnlyProtocolErrors(() =>
                {
                    var reader = new SpiceMessageReader(mini, maxMessageSize: 64);
                    var buffer = Shape(bytes, seed);
                    var consumed = 0L;
                    while (reader.TryRead(ref buffer, out var message))
                    {
                        Assert.True(message.BodyLength <= 64);
                        consumed += message.WireLength;
                        if (message.SubListOffset != 0 || message.Type == (ushort)SpiceMsg.List)
                        {
                            foreach (var sub in SpiceSubMessageList.Enumerate(message.Body, message.SubListOffset))
                            {
                                Assert.True(sub.Body.Length <= message.BodyLength);
                            }
                        }
                    }

                    Assert.Equal(bytes.Length, consumed + buffer.Length);
                });
            }
        }, iter: Iterations);
    }

    [Fact]
    public void SubMessageList_RandomBody_OnlyProtocolErrors()
    {
        Gen.Select(s_input, Gen.UInt[0, 130]).Sample((input, offset) =>
        {
            OnlyProtocolErrors(() =>
            {
                foreach (var sub in SpiceSubMessageList.Enumerate(Shape(input.Bytes, input.Seed), offset))
                {
                    _ = sub.Body.Length;
                }
            });
        }, iter: Iterations);
    }

    [Fact]
    public void BodyParsers_RandomBody_OnlyProtocolErrors()
    {
        s_input.Sample((bytes, seed) =>
        {
            var body = Shape(bytes, seed);
            OnlyProtocolErrors(() => SpiceSetAck.Parse(body));
            OnlyProtocolErrors(() => SpiceAckSync.Parse(body));
            OnlyProtocolErrors(() => SpicePing.Parse(body));
            OnlyProtocolErrors(() => SpicePong.Parse(body));
            OnlyProtocolErrors(() => SpiceDisconnecting.Parse(body));
            OnlyProtocolErrors(() => SpiceMigrate.Parse(body));
            OnlyProtocolErrors(() => SpiceMainInit.Parse(body));
            OnlyProtocolErrors(() => SpiceMainMouseMode.Parse(body));
            OnlyProtocolErrors(() => SpiceChannelsList.Parse(body));
            OnlyProtocolErrors(() => SpiceMouseMotion.Parse(body));
            OnlyProtocolErrors(() => SpiceMousePosition.Parse(body));
            OnlyProtocolErrors(() => SpiceMouseButtonEvent.Parse(SpiceInputsMsgc.MousePress, body));
            OnlyProtocolErrors(() => SpiceWaitForChannels.Parse(body));
            OnlyProtocolErrors(() => SpiceDisplayInit.Parse(body));
            OnlyProtocolErrors(() => SpiceSurfaceCreate.Parse(body));
            foreach (var kind in new[] { SpiceMainMsg.MigrateBegin, SpiceMainMsg.MigrateSwitchHost, SpiceMainMsg.MigrateBeginSeamless })
            {
                OnlyProtocolErrors(() =>
                {
                    var target = SpiceMigrationTarget.Parse((ushort)kind, body);
                    var rewritten = ParserAssert.Bytes(w => target.RedirectTo("edge", 1, 2, target.CertSubject).WriteTo(new SpiceMessageWriter(true), w));
                    var again = new ReadOnlySequence<byte>(rewritten);
                    Assert.True(new SpiceMessageReader(true, 1 << 16).TryRead(ref again, out var framed));
                    Assert.Equal("edge", SpiceMigrationTarget.Parse(framed.Type, framed.Body).Host);
                });
            }
        }, iter: Iterations);
    }

    [Fact]
    public void RelayStateMachines_RandomMessages_OnlyProtocolErrors()
    {
        Gen.Select(s_input, Gen.UShort[0, 130].Array[1, 20]).Sample((input, types) =>
        {
            var server = new ServerLegAckResponder();
            var client = new ClientLegAckGenerator(20);
            var coalescer = new MotionCoalescer();
            var motion = new MotionAckResponder();
            var tracker = new NetTestTracker();
            client.NextSetAck();
            foreach (var type in types)
            {
                var body = Shape(input.Bytes, input.Seed + type);
                OnlyProtocolErrors(() => server.OnServerMessage(type, body));
                OnlyProtocolErrors(() => client.OnClientMessage(type, body));
                OnlyProtocolErrors(() => coalescer.OnClientMessage(type, body));
                OnlyProtocolErrors(() => tracker.OnServerMessage(type, body, out _));
                motion.OnClientMessage(type);
                if (type % 5 == 0 && coalescer.OnServerMotionAck())
                {
                    coalescer.WritePending(new SpiceMessageWriter(true), new ArrayBufferWriter<byte>());
                }

                Assert.True(client.Unacknowledged >= 0);
                Assert.True(coalescer.InFlight >= 0);
            }
        }, iter: Iterations);
    }

    [Fact]
    public void LinkPassThrough_RandomStreams_OnlyProtocolErrors()
    {
        var validMess = ParserAssert.Bytes(new SpiceLinkMess(1, SpiceChannelType.Main, 0, SpiceCapabilitySet.FromWords([0x09]), SpiceCapabilitySet.Empty).WriteTo);
        Gen.Select(s_input, s_input, Gen.Bool).Sample((client, server, validStart) =>
        {
            OnlyProtocolErrors(() =>
            {
                var link = new SpiceLinkPassThrough();
                var up = Shape(validStart ? [.. validMess, .. client.Bytes] : client.Bytes, client.Seed);
                var down = Shape(server.Bytes, server.Seed);
                for (var round = 0; round < 6; round++)
                {
                    while (link.TryReadFromClient(ref up, out var item))
                    {
                        _ = item.Raw.Length;
                    }

                    while (link.TryReadFromServer(ref down, out var item))
                    {
                        _ = item.Raw.Length;
                    }
                }
            });
        }, iter: Iterations);
    }

    [Fact]
    public void MutatedValidLinkMess_FlippedBytes_OnlyProtocolErrors()
    {
        var valid = ParserAssert.Bytes(new SpiceLinkMess(7, SpiceChannelType.Display, 0, SpiceCapabilitySet.FromWords([0x09]), SpiceCapabilitySet.FromWords([0x1FF, 1])).WriteTo);
        Gen.Select(Gen.Int[0, valid.Length - 1], Gen.Byte, Gen.Int).Sample((index, value, seed) =>
        {
            var bytes = (byte[])valid.Clone();
            bytes[index] = value;
            OnlyProtocolErrors(() =>
            {
                var buffer = Shape(bytes, seed);
                SpiceLinkMess.TryParse(ref buffer, SpiceLinkHeader.DefaultMaxSize, out _);
            });
        }, iter: Iterations);
    }
}
