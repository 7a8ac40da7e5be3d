namespace Accel.Core.Spice.Protocol.Link;

/// <summary>
/// What a completed link phase established for one channel connection: which channel it is and what both sides
/// agreed on. Built from the client's SpiceLinkMess and the server's SpiceLinkReply.
/// </summary>
internal sealed record LinkSession
{
    public required uint ConnectionId { get; init; }

    public required SpiceChannelType ChannelType { get; init; }

    public required byte ChannelId { get; init; }

    public required SpiceCapabilitySet ClientCommonCaps { get; init; }

    public required SpiceCapabilitySet ClientChannelCaps { get; init; }

    public required SpiceCapabilitySet ServerCommonCaps { get; init; }

    public required SpiceCapabilitySet ServerChannelCaps { get; init; }

    /// <summary>The mechanism the client chose, or null when there was no auth selection (ticket sent directly).</summary>
    public SpiceAuthMechanism? AuthMechanism { get; init; }

    /// <summary>Common capabilities both sides have.</summary>
    public SpiceCapabilitySet CommonCaps => ClientCommonCaps.Intersect(ServerCommonCaps);

    /// <summary>Channel capabilities both sides have.</summary>
    public SpiceCapabilitySet ChannelCaps => ClientChannelCaps.Intersect(ServerChannelCaps);

    /// <summary>Both sides advertised MINI_HEADER: messages use the 6-byte header in both directions.</summary>
    public bool UseMiniHeader => ClientCommonCaps.Has(SpiceCommonCap.MiniHeader) && ServerCommonCaps.Has(SpiceCommonCap.MiniHeader);

    /// <summary>The client sends a SpiceLinkAuthMechanism before its ticket.</summary>
    public bool UsesAuthSelection => SpiceLinkAuth.UsesAuthSelection(ClientCommonCaps, ServerCommonCaps);

    public bool HasChannelCap(int capability) => ClientChannelCaps.Has(capability) && ServerChannelCaps.Has(capability);

    public static LinkSession Create(SpiceLinkMess client, SpiceLinkReply server, SpiceAuthMechanism? mechanism = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(server);
        return new LinkSession
        {
            ConnectionId = client.ConnectionId,
            ChannelType = client.ChannelType,
            ChannelId = client.ChannelId,
            ClientCommonCaps = client.CommonCaps,
            ClientChannelCaps = client.ChannelCaps,
            ServerCommonCaps = server.CommonCaps,
            ServerChannelCaps = server.ChannelCaps,
            AuthMechanism = mechanism,
        };
    }
}
