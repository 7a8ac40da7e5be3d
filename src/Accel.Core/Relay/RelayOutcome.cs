namespace Accel.Core.Relay;

/// <summary>How a relayed channel ended. Expected endings are logged at Debug, protocol violations at Warning.</summary>
public enum RelayOutcome
{
    /// <summary>Both sides finished cleanly.</summary>
    Completed,
    /// <summary>The TCP side reset or failed.</summary>
    SocketFailed,
    /// <summary>The other edge reset the stream or the QUIC connection died.</summary>
    PeerAborted,
    /// <summary>Shutdown of this edge.</summary>
    Canceled,
    /// <summary>The SPICE stream broke the protocol (oversized or malformed message).</summary>
    ProtocolViolation,
    /// <summary>The link phase did not end within its deadline.</summary>
    LinkTimedOut,
    /// <summary>A local reader took no data for the stall timeout; its channel was closed.</summary>
    Stalled,
}

/// <summary>Application error codes edges put on RESET_STREAM / STOP_SENDING.</summary>
public static class RelayErrorCodes
{
    public const long SocketClosed = 0x101;
    public const long Shutdown = 0x102;
    public const long ProtocolViolation = 0x103;
    public const long Refused = 0x104;
    public const long TimedOut = 0x105;
}
