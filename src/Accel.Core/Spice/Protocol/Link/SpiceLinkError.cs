namespace Accel.Core.Spice.Protocol.Link;

/// <summary>SpiceLinkErr: the error field of SpiceLinkReply and the u32 link result.</summary>
internal enum SpiceLinkError : uint
{
    Ok = 0,
    Error = 1,
    InvalidMagic = 2,
    InvalidData = 3,
    VersionMismatch = 4,
    NeedSecured = 5,
    NeedUnsecured = 6,
    PermissionDenied = 7,
    BadConnectionId = 8,
    ChannelNotAvailable = 9,
}
