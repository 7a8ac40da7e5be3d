using System.Buffers;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Tests.Spice.Policies;

/// <summary>Records what a policy injects toward one peer, framed back into messages.</summary>
internal class RecordingInjector : IMessageInjector
{
    /// <summary>Bytes injected and not taken yet.</summary>
    public int WrittenCount => _bytes.WrittenCount;

    private readonly ArrayBufferWriter<byte> _bytes = new();
    private readonly SpiceMessageWriter _writer = new(miniHeader: true);

    public void Inject<TState>(TState state, InjectWriter<TState> write) => write(state, _writer, _bytes);

    /// <summary>The injected messages' types, in order.</summary>
    public List<ushort> Types => PolicyTestKit.Frame(_bytes.WrittenMemory.ToArray()).ConvertAll(m => m.Type);

    public List<(ushort Type, byte[] Body)> Messages => PolicyTestKit.Frame(_bytes.WrittenMemory.ToArray());

    /// <summary>The injected bytes so far, and forgets them.</summary>
    public byte[] Take()
    {
        var bytes = _bytes.WrittenMemory.ToArray();
        _bytes.ResetWrittenCount();
        return bytes;
    }
}

/// <summary>A <see cref="RecordingInjector"/> that, like the relay's writer, tells what it still holds (everything not taken).</summary>
internal sealed class BacklogRecordingInjector : RecordingInjector, IInjectionBacklog
{
    public int PendingBytes => WrittenCount;
}

internal static class PolicyTestKit
{
    public static List<(ushort Type, byte[] Body)> Frame(byte[] bytes)
    {
        var reader = new SpiceMessageReader(true, 1 << 20);
        var buffer = new ReadOnlySequence<byte>(bytes);
        var list = new List<(ushort, byte[])>();
        while (reader.TryRead(ref buffer, out var m))
        {
            list.Add((m.Type, m.Body.ToArray()));
        }

        Assert.Equal(0, buffer.Length);
        return list;
    }

    /// <summary>One whole message as the pump hands it to a policy.</summary>
    public static SpiceMessage Message<T>(T body)
        where T : struct, ISpiceMessageBody
    {
        var bytes = new byte[body.BodyLength];
        body.WriteBody(bytes);
        return new SpiceMessage(body.MessageType, 1, new ReadOnlySequence<byte>(bytes), 0, SpiceDataHeader.MiniLength);
    }

    public static SpiceMessage Message(ushort type, byte[]? body = null) =>
        new(type, 1, new ReadOnlySequence<byte>(body ?? []), 0, SpiceDataHeader.MiniLength);

    /// <summary>What the pump does with one message: examine, then stream or offer it whole; true when it is forwarded.</summary>
    public static bool Pass(IChannelPolicy policy, SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte>? output = null)
    {
        var need = policy.Examine(direction, message.Type, (uint)message.BodyLength);
        if (need == BodyNeed.None)
        {
            policy.OnStreamed(direction, message.Type);
            return true;
        }

        return policy.OnMessage(direction, message, output ?? new ArrayBufferWriter<byte>()) == PolicyVerdict.Forward;
    }
}
