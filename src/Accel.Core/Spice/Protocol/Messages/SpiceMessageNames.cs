namespace Accel.Core.Spice.Protocol.Messages;

/// <summary>Message names for diagnostics, and whether a type number is defined for a channel and direction.</summary>
internal static class SpiceMessageNames
{
    /// <summary>The name of a message type ("SET_ACK"-style enum member name), or null when the number is not defined.</summary>
    public static string? GetName(SpiceChannelType channelType, SpiceDirection direction, ushort type)
    {
        if (type <= (ushort)SpiceMsg.BaseLast)
        {
            return direction == SpiceDirection.ServerToClient
                ? (type == (ushort)SpiceMsg.BaseLast ? null : Name<SpiceMsg>(type))
                : Name<SpiceMsgc>(type);
        }

        return (channelType, direction) switch
        {
            (SpiceChannelType.Main, SpiceDirection.ServerToClient) => Name<SpiceMainMsg>(type),
            (SpiceChannelType.Main, SpiceDirection.ClientToServer) => Name<SpiceMainMsgc>(type),
            (SpiceChannelType.Display, SpiceDirection.ServerToClient) => Name<SpiceDisplayMsg>(type),
            (SpiceChannelType.Display, SpiceDirection.ClientToServer) => Name<SpiceDisplayMsgc>(type),
            (SpiceChannelType.Inputs, SpiceDirection.ServerToClient) => Name<SpiceInputsMsg>(type),
            (SpiceChannelType.Inputs, SpiceDirection.ClientToServer) => Name<SpiceInputsMsgc>(type),
            (SpiceChannelType.Cursor, SpiceDirection.ServerToClient) => Name<SpiceCursorMsg>(type),
            (SpiceChannelType.Playback, SpiceDirection.ServerToClient) => Name<SpicePlaybackMsg>(type),
            (SpiceChannelType.Record, SpiceDirection.ServerToClient) => Name<SpiceRecordMsg>(type),
            (SpiceChannelType.Record, SpiceDirection.ClientToServer) => Name<SpiceRecordMsgc>(type),
            (SpiceChannelType.Tunnel, SpiceDirection.ServerToClient) => Name<SpiceTunnelMsg>(type),
            (SpiceChannelType.Tunnel, SpiceDirection.ClientToServer) => Name<SpiceTunnelMsgc>(type),
            (SpiceChannelType.Smartcard, SpiceDirection.ServerToClient) => Name<SpiceSmartcardMsg>(type),
            (SpiceChannelType.Smartcard, SpiceDirection.ClientToServer) => Name<SpiceSmartcardMsgc>(type),
            (SpiceChannelType.UsbRedir, SpiceDirection.ServerToClient) => Name<SpiceVmcMsg>(type),
            (SpiceChannelType.UsbRedir, SpiceDirection.ClientToServer) => Name<SpiceVmcMsgc>(type),
            (SpiceChannelType.Port or SpiceChannelType.WebDav, SpiceDirection.ServerToClient) => Name<SpiceVmcMsg>(type) ?? Name<SpicePortMsg>(type),
            (SpiceChannelType.Port or SpiceChannelType.WebDav, SpiceDirection.ClientToServer) => Name<SpiceVmcMsgc>(type) ?? Name<SpicePortMsgc>(type),
            _ => null,
        };
    }

    public static bool IsDefined(SpiceChannelType channelType, SpiceDirection direction, ushort type) =>
        GetName(channelType, direction, type) is not null;

    private static string? Name<T>(ushort type)
        where T : struct, Enum => Enum.GetName(typeof(T), type);
}
