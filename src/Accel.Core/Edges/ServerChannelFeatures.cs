using System.Runtime.CompilerServices;
using Accel.Core.Spice.Display;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Policies;
using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>
/// The server edge's datagram features of a channel, on the connection that carries it now (<see cref="ChannelRoute"/>):
/// display previews go out on it, and the inputs channel takes pointer datagrams and input copies from its one
/// <see cref="InputDatagramHub"/>. A resume moves both to the new connection, under the stream id the channel has there.
/// </summary>
internal sealed class ServerChannelFeatures
{
    private readonly ConditionalWeakTable<IDatagramConnection, InputDatagramHub> _inputHubs = new();

    /// <summary>The preview sender of a display channel whose client edge asked for previews over a connection with datagrams; else null.</summary>
    public static IDisplayPreviewSender? Previews(EdgeRequest request, ChannelRoute route) =>
        request.TakesPreviews && route.Current.Datagrams is { MaxDatagramPayloadSize: > 0 } ? new DatagramPreviewSender(route) : null;

    /// <summary>The inputs channel's sync policy, registered with the input hub of whichever connection carries the channel.</summary>
    public InputSyncPolicy InputSync(ChannelRoute route, IMessageInjector toServer, MotionCoalescingPolicy coalescing)
    {
        IDisposable? binding = null;
        var policy = new InputSyncPolicy(toServer, coalescing, _ => binding?.Dispose());
        binding = route.Bind(c => HubOf(c)?.Register(c.StreamId, policy), c => HubOf(c)?.Unregister(c.StreamId, policy));
        return policy;
    }

    private InputDatagramHub? HubOf(ChannelCarrier carrier) =>
        carrier.Datagrams is { } datagrams ? _inputHubs.GetValue(datagrams, static d => InputDatagramHub.Start(d)) : null;
}
