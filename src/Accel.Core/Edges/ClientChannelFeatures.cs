using System.Runtime.CompilerServices;
using Accel.Core.Spice.Input;
using Accel.Core.Spice.Policies;
using Accel.Core.Spice.Protocol;
using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>
/// The client edge's optional features per edge connection and channel stream, all riding on datagrams: display
/// previews (one <see cref="DisplayPreviewHub"/> per connection) and input datagrams (one <see cref="LossMeter"/> per
/// connection). Says which flags a request asks for, remembers server edges that refused them (older versions), and
/// hands the pump the policies for a stream whose request was accepted.
/// </summary>
internal sealed class ClientChannelFeatures(ClientEdgeSettings settings)
{
    private readonly ConditionalWeakTable<ITransportConnection, DisplayPreviewHub> _connectionHubs = new();
    private readonly ConditionalWeakTable<ITransportStream, DisplayPreviewHub> _previewHubs = new();
    private readonly ConditionalWeakTable<ITransportConnection, LossMeter> _lossMeters = new();
    private readonly ConditionalWeakTable<ITransportStream, InputStream> _inputStreams = new();
    private readonly ConditionalWeakTable<ITransportConnection, object> _legacyPeers = new();

    /// <summary>The request with the optional flags this connection's server edge and engine allow, registered for <paramref name="stream"/>.</summary>
    public EdgeRequest Ask(ITransportConnection connection, ITransportStream stream, EdgeRequest request)
    {
        if (IsLegacy(connection) || connection.Datagrams() is not { MaxDatagramPayloadSize: > 0 } datagrams)
        {
            return request;
        }

        if (settings.DisplayPreviews)
        {
            request = request with { Flags = (byte)(request.Flags | EdgeRequest.PreviewsFlag) };
            _previewHubs.AddOrUpdate(stream, _connectionHubs.GetValue(connection, _ => DisplayPreviewHub.Start(datagrams)));
        }

        // An HTTP CONNECT channel's type is known only after the answer (ChannelType 0): it asks too, and the flag
        // matters only if the channel turns out to be inputs (both edges choose inputs policies by the linked type).
        if (settings.InputDatagrams && (SpiceChannelType)request.ChannelType is SpiceChannelType.Inputs or 0 && datagrams.MaxDatagramPayloadSize >= InputWire.PointerDatagramLength)
        {
            request = request with { Flags = (byte)(request.Flags | EdgeRequest.InputDatagramsFlag) };
            var meter = _lossMeters.GetValue(connection, c => new LossMeter(c.StatisticsOrDefault, TimeProvider.System));
            _inputStreams.AddOrUpdate(stream, new InputStream(datagrams, new InputRedundancy(settings.InputRedundancy, meter)));
        }

        return request;
    }

    /// <summary>The features registered for <paramref name="inner"/> also for <paramref name="outer"/>, the stream that wraps it.</summary>
    public void Alias(ITransportStream inner, ITransportStream outer)
    {
        if (_previewHubs.TryGetValue(inner, out var hub))
        {
            _previewHubs.AddOrUpdate(outer, hub);
        }

        if (_inputStreams.TryGetValue(inner, out var input))
        {
            _inputStreams.AddOrUpdate(outer, input);
        }
    }

    /// <summary>The server edge of <paramref name="connection"/> refused a flag: ask it for none from now on.</summary>
    public void MarkLegacy(ITransportConnection connection) => _legacyPeers.AddOrUpdate(connection, this);

    /// <summary>True once the server edge of <paramref name="connection"/> refused a flag.</summary>
    public bool IsLegacy(ITransportConnection connection) => _legacyPeers.TryGetValue(connection, out _);

    public Func<IMessageInjector, DisplayPreviewPolicy>? DisplayPreview(ITransportStream stream) =>
        _previewHubs.TryGetValue(stream, out var hub) ? toClient => hub.Register(stream.Id, toClient) : null;

    public Func<IMessageInjector, IChannelPolicy>? InputDatagrams(ITransportStream stream) =>
        _inputStreams.TryGetValue(stream, out var input)
            ? toServer => new PointerDatagramPolicy(toServer, input.Datagrams, stream.Id, input.Redundancy, TimeProvider.System)
            : null;

    private sealed record InputStream(IDatagramConnection Datagrams, InputRedundancy Redundancy);
}
