using Accel.Core.Spice.Display;
using Accel.Core.Spice.Protocol.Framing;

namespace Accel.Core.Relay;

/// <summary>Settings of the message-aware relay.</summary>
public sealed record SpiceRelaySettings
{
    public static SpiceRelaySettings Default { get; } = new();

    /// <summary>Largest message accepted per channel type; a larger size field is a protocol violation.</summary>
    internal SpiceFramingLimits Limits { get; init; } = SpiceFramingLimits.Default;

    /// <summary>ACK window the client edge gives the SPICE client (LAN leg).</summary>
    public uint ClientLegAckWindow { get; init; } = 20;

    /// <summary>Largest body of a message the relay must inspect whole (ACKs, inputs, migration).</summary>
    public int MaxInspectedMessage { get; init; } = 64 * 1024;

    /// <summary>
    /// Re-encoding of display images at the server edge (<see cref="DisplayCodec.Off"/>: none). Ignored at the client
    /// edge.
    /// </summary>
    public DisplayCodec DisplayCodec { get; init; } = DisplayCodec.Off;

    /// <summary>
    /// When true (the default) a re-encoded image that is not smaller than the server's is dropped in favour of the
    /// original; tests turn it off to force every image through the configured codec.
    /// </summary>
    internal bool DisplayKeepSmallerOriginal { get; init; } = true;

    /// <summary>Largest draw message read whole for re-encoding; larger ones are streamed through unchanged.</summary>
    public int MaxTranscodedMessage { get; init; } = 16 * 1024 * 1024;

    /// <summary>Read buffer of each direction.</summary>
    public int BufferSize { get; init; } = 64 * 1024;

    /// <summary>The whole SPICE link phase (link message to link result) must end within this, or the channel closes.</summary>
    public TimeSpan LinkTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A local TCP reader (remote-viewer, spice-server) that takes no data for this long while the edge has data for
    /// it closes its own channel: the edge's write deadline, also set as the socket's TCP_USER_TIMEOUT.
    /// </summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Idle time before TCP keep-alive probes on a local leg (then every 10 s, 3 unanswered close it).</summary>
    public TimeSpan TcpKeepAlive { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Server edge, display channel 0: keep a canvas of the client's picture, answer spice-server's ACKs at once, absorb
    /// draws while the display budget is exceeded and refresh their area losslessly from the canvas
    /// (<see cref="Spice.Policies.DisplayCanvasPolicy"/>). Ignored at the client edge.
    /// </summary>
    public bool DisplayCanvas { get; init; }

    /// <summary>With <see cref="DisplayCanvas"/>: photo-like refreshes that would hold the link longer than 50 ms go as JPEG (refined losslessly once settled).</summary>
    public bool DisplayCanvasLossy { get; init; } = true;

    /// <summary>The server edge's display budget (ACK pacing toward spice-server). Ignored at the client edge.</summary>
    public DisplayBudgetSettings DisplayBudget { get; init; } = DisplayBudgetSettings.Default;
}
