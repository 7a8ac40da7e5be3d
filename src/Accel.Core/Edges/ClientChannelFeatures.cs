using System.Runtime.CompilerServices;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>
/// The client edge's optional features per channel stream, all riding on datagrams: display previews (one
/// <see cref="DisplayPreviewHub"/> per connection) and input datagrams (with a <see cref="LossMeter"/> of the carrying
/// connection). Says which flags a request asks for, remembers server edges that refused them (older versions), and
/// hands the pump the policies for a stream whose request was accepted. The policies follow the channel's
/// <see cref="ChannelRoute"/>: after a resume, previews come and pointer datagrams go on the new connection, under the
/// stream id the channel has there (a new connection without datagrams: previews pause, the pointer goes as markers).
/// </summary>
internal sealed class ClientChannelFeatures(ClientEdgeSettings settings)
{
    private readonly ConditionalWeakTable<IDatagramConnection, DisplayPreviewHub> _previewHubs = new();
    private readonly ConditionalWeakTable<ITransportStream, Granted> _granted = new();
    private readonly ConditionalWeakTable<ITransportConnection, object> _legacyPeers = new();

    /// <summary>
    /// The request with the optional flags this connection's server edge and engine allow, registered for
    /// <paramref name="stream"/> (opened on <paramref name="connection"/>, carried by <paramref name="route"/>).
    /// </summary>
    public EdgeRequest Ask(ITransportConnection connection, ITransportStream stream, ChannelRoute route, EdgeRequest request)
    {
        if (IsLegacy(connection) || route.Current.Datagrams is not { MaxDatagramPayloadSize: > 0 } datagrams)
        {
            return request;
        }

        if (settings.DisplayPreviews)
        {
            request = request with { Flags = (byte)(request.Flags | EdgeRequest.PreviewsFlag) };
        }

        // An HTTP CONNECT channel's type is known only after the answer (ChannelType 0): it asks too, and the flag
        // matters only if the channel turns out to be inputs (both edges choose inputs policies by the linked type).
        InputRedundancy? input = null;
        if (settings.InputDatagrams && (SpiceChannelType)request.ChannelType is SpiceChannelType.Inputs or 0 && datagrams.MaxDatagramPayloadSize >= InputWire.PointerDatagramLength)
        {
            request = request with { Flags = (byte)(request.Flags | EdgeRequest.InputDatagramsFlag) };
            input = new InputRedundancy(settings.InputRedundancy, new LossMeter(() => route.Current.Statistics(), TimeProvider.System));
        }

        _granted.AddOrUpdate(stream, new Granted(route, settings.DisplayPreviews, input));
        return request;
    }

    /// <summary>The features registered for <paramref name="inner"/> also for <paramref name="outer"/>, the stream that wraps it.</summary>
    public void Alias(ITransportStream inner, ITransportStream outer)
    {
        if (_granted.TryGetValue(inner, out var granted))
        {
            _granted.AddOrUpdate(outer, granted);
        }
    }

    /// <summary>The server edge of <paramref name="connection"/> refused a flag: ask it for none from now on.</summary>
    public void MarkLegacy(ITransportConnection connection) => _legacyPeers.AddOrUpdate(connection, this);

    /// <summary>True once the server edge of <paramref name="connection"/> refused a flag.</summary>
    public bool IsLegacy(ITransportConnection connection) => _legacyPeers.TryGetValue(connection, out _);

    public Func<IMessageInjector, DisplayPreviewPolicy>? DisplayPreview(ITransportStream stream) =>
        _granted.TryGetValue(stream, out var granted) && granted.Previews ? toClient => Previews(granted.Route, toClient) : null;

    public Func<IMessageInjector, IChannelPolicy>? InputDatagrams(ITransportStream stream) =>
        _granted.TryGetValue(stream, out var granted) && granted.Input is { } redundancy
            ? toServer => new PointerDatagramPolicy(toServer, granted.Route, redundancy, TimeProvider.System)
            : null;

    /// <summary>A display channel's preview policy, registered with the preview hub of whichever connection carries the channel.</summary>
    private DisplayPreviewPolicy Previews(ChannelRoute route, IMessageInjector toClient)
    {
        IDisposable? binding = null;
        var policy = new DisplayPreviewPolicy(toClient, _ => binding?.Dispose());
        binding = route.Bind(c => HubOf(c)?.Register(c.StreamId, policy), c => HubOf(c)?.Unregister(c.StreamId, policy));
        return policy;
    }

    private DisplayPreviewHub? HubOf(ChannelCarrier carrier) =>
        carrier.Datagrams is { } datagrams ? _previewHubs.GetValue(datagrams, static d => DisplayPreviewHub.Start(d)) : null;

    private sealed record Granted(ChannelRoute Route, bool Previews, InputRedundancy? Input);
}
