using System.Buffers;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Spice.Policies;

/// <summary>What a policy needs of a message before any byte of it is forwarded.</summary>
internal enum BodyNeed : byte
{
    /// <summary>The header is enough: the body streams through as it arrives.</summary>
    None,
    /// <summary>The whole body, bounded by the relay's inspection limit (a larger one is a protocol violation).</summary>
    Inspect,
    /// <summary>The whole body, to transform it; the policy bounded the size itself.</summary>
    Transform,
}

/// <summary>What happens to a whole message after a policy saw it.</summary>
internal enum PolicyVerdict : byte
{
    /// <summary>Pass it on (to the next policy, then unchanged to the destination).</summary>
    Forward,
    /// <summary>Nothing of it goes on; the policy may have written its replacement to the output.</summary>
    Drop,
}

/// <summary>
/// One behaviour of one channel at one edge (ACK termination, motion coalescing, migration rewrite, …), chosen at link
/// time by channel type and edge role (<see cref="IChannelPolicyFactory"/>). The pump frames each message once and
/// asks its policies, in order: <see cref="Examine"/> from the header; then either <see cref="OnStreamed"/> (nobody
/// needs the body: it streams through) or <see cref="OnMessage"/> with the whole body until one drops it. Each
/// direction is one loop, so a policy's callbacks for one direction never overlap; a policy that keeps state across
/// both directions locks it.
/// </summary>
internal interface IChannelPolicy
{
    BodyNeed Examine(SpiceDirection direction, ushort type, uint size);

    /// <summary>A message no policy needs whole is being forwarded (its body streams after this call).</summary>
    void OnStreamed(SpiceDirection direction, ushort type);

    /// <summary>
    /// A whole message. <paramref name="output"/> is the destination of this direction (for a replacement); replies
    /// to the sender go through the injectors the policy was created with.
    /// </summary>
    PolicyVerdict OnMessage(SpiceDirection direction, in SpiceMessage message, IBufferWriter<byte> output);
}

/// <summary>A policy that wants to know how many bytes its channel forwarded (per read, after they were written).</summary>
internal interface IForwardObserver
{
    void OnForwarded(SpiceDirection direction, long bytes);
}

/// <summary>Writes messages an edge sends on its own (<see cref="IMessageInjector"/>).</summary>
internal delegate void InjectWriter<TState>(TState state, SpiceMessageWriter writer, IBufferWriter<byte> output);

/// <summary>
/// A bounded queue of messages the edge sends on its own toward one peer (local ACKs, motion ACKs, coalesced
/// motions), written between relayed messages and flushed soon. Callable from any thread. When full (a peer that
/// never reads them), <see cref="Inject{TState}"/> throws <see cref="SpiceProtocolException"/> and the channel closes.
/// </summary>
internal interface IMessageInjector
{
    void Inject<TState>(TState state, InjectWriter<TState> write);
}

internal static class MessageInjectorExtensions
{
    public static void Inject<T>(this IMessageInjector injector, T message)
        where T : struct, ISpiceMessageBody
        => injector.Inject(message, static (m, writer, output) => writer.Write(output, m));
}

/// <summary>A linked channel, as its policies are chosen for it.</summary>
internal readonly record struct LinkedChannel(SpiceChannelType Type, byte Id, int MaxMessageSize);

/// <summary>Chooses one edge role's policies for a channel once its link is known.</summary>
internal interface IChannelPolicyFactory
{
    /// <summary>"client edge" or "server edge", for logs.</summary>
    string EdgeName { get; }

    /// <summary>The channel's policies in the order they see each message (ACK accounting first).</summary>
    IChannelPolicy[] Create(in LinkedChannel channel, IMessageInjector toClient, IMessageInjector toServer);
}

/// <summary>A policy with something to say when its channel ends (one log line: what it did).</summary>
internal interface ISummarizingPolicy
{
    /// <summary>What the policy did on the channel; null: nothing worth a line.</summary>
    string? Summary { get; }
}
