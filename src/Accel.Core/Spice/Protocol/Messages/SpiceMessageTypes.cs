namespace Accel.Core.Spice.Protocol.Messages;

// Message type numbers from spice-protocol spice/enums.h (HEAD 969baca) and spice-common spice.proto.
// "Msg" = server → client, "Msgc" = client → server. Channel-specific numbers start at 101.

/// <summary>Common server → client messages (every channel).</summary>
internal enum SpiceMsg : ushort
{
    Migrate = 1,
    MigrateData = 2,
    SetAck = 3,
    Ping = 4,
    WaitForChannels = 5,
    Disconnecting = 6,
    Notify = 7,
    List = 8,
    BaseLast = 100,
}

/// <summary>Common client → server messages (every channel).</summary>
internal enum SpiceMsgc : ushort
{
    AckSync = 1,
    Ack = 2,
    Pong = 3,
    MigrateFlushMark = 4,
    MigrateData = 5,
    Disconnecting = 6,
}

internal enum SpiceMainMsg : ushort
{
    MigrateBegin = 101,
    MigrateCancel = 102,
    Init = 103,
    ChannelsList = 104,
    MouseMode = 105,
    MultiMediaTime = 106,
    AgentConnected = 107,
    AgentDisconnected = 108,
    AgentData = 109,
    AgentToken = 110,
    MigrateSwitchHost = 111,
    MigrateEnd = 112,
    Name = 113,
    Uuid = 114,
    AgentConnectedTokens = 115,
    MigrateBeginSeamless = 116,
    MigrateDstSeamlessAck = 117,
    MigrateDstSeamlessNack = 118,
}

internal enum SpiceMainMsgc : ushort
{
    ClientInfo = 101,
    MigrateConnected = 102,
    MigrateConnectError = 103,
    AttachChannels = 104,
    MouseModeRequest = 105,
    AgentStart = 106,
    AgentData = 107,
    AgentToken = 108,
    MigrateEnd = 109,
    MigrateDstDoSeamless = 110,
    MigrateConnectedSeamless = 111,
    QualityIndicator = 112,
}

internal enum SpiceDisplayMsg : ushort
{
    Mode = 101,
    Mark = 102,
    Reset = 103,
    CopyBits = 104,
    InvalList = 105,
    InvalAllPixmaps = 106,
    InvalPalette = 107,
    InvalAllPalettes = 108,
    StreamCreate = 122,
    StreamData = 123,
    StreamClip = 124,
    StreamDestroy = 125,
    StreamDestroyAll = 126,
    DrawFill = 302,
    DrawOpaque = 303,
    DrawCopy = 304,
    DrawBlend = 305,
    DrawBlackness = 306,
    DrawWhiteness = 307,
    DrawInvers = 308,
    DrawRop3 = 309,
    DrawStroke = 310,
    DrawText = 311,
    DrawTransparent = 312,
    DrawAlphaBlend = 313,
    SurfaceCreate = 314,
    SurfaceDestroy = 315,
    StreamDataSized = 316,
    MonitorsConfig = 317,
    DrawComposite = 318,
    StreamActivateReport = 319,
    GlScanoutUnix = 320,
    GlDraw = 321,
    QualityIndicator = 322,
}

internal enum SpiceDisplayMsgc : ushort
{
    Init = 101,
    StreamReport = 102,
    PreferredCompression = 103,
    GlDrawDone = 104,
    PreferredVideoCodecType = 105,
}

internal enum SpiceInputsMsg : ushort
{
    Init = 101,
    KeyModifiers = 102,
    MouseMotionAck = 111,
}

internal enum SpiceInputsMsgc : ushort
{
    KeyDown = 101,
    KeyUp = 102,
    KeyModifiers = 103,
    KeyScancode = 104,
    MouseMotion = 111,
    MousePosition = 112,
    MousePress = 113,
    MouseRelease = 114,
}

/// <summary>The cursor channel has no client → server messages beyond the common ones.</summary>
internal enum SpiceCursorMsg : ushort
{
    Init = 101,
    Reset = 102,
    Set = 103,
    Move = 104,
    Hide = 105,
    Trail = 106,
    InvalOne = 107,
    InvalAll = 108,
}

/// <summary>The playback channel has no client → server messages beyond the common ones.</summary>
internal enum SpicePlaybackMsg : ushort
{
    Data = 101,
    Mode = 102,
    Start = 103,
    Stop = 104,
    Volume = 105,
    Mute = 106,
    Latency = 107,
}

internal enum SpiceRecordMsg : ushort
{
    Start = 101,
    Stop = 102,
    Volume = 103,
    Mute = 104,
}

internal enum SpiceRecordMsgc : ushort
{
    Data = 101,
    Mode = 102,
    StartMark = 103,
}

/// <summary>Legacy tunnel channel (removed from spice-protocol in 0.12.x; numbers from the last header that had them).</summary>
internal enum SpiceTunnelMsg : ushort
{
    Init = 101,
    ServiceIpMap = 102,
    SocketOpen = 103,
    SocketFin = 104,
    SocketClose = 105,
    SocketData = 106,
    SocketClosedAck = 107,
    SocketToken = 108,
}

internal enum SpiceTunnelMsgc : ushort
{
    ServiceAdd = 101,
    ServiceRemove = 102,
    SocketOpenAck = 103,
    SocketOpenNack = 104,
    SocketFin = 105,
    SocketClosed = 106,
    SocketClosedAck = 107,
    SocketData = 108,
    SocketToken = 109,
}

internal enum SpiceSmartcardMsg : ushort
{
    Data = 101,
}

/// <summary>spice-protocol declares HEADER, ERROR, ATR and READER_ADD all as 101 (a known protocol wart); only DATA is used.</summary>
internal enum SpiceSmartcardMsgc : ushort
{
    Data = 101,
}

/// <summary>SpiceVMC messages, both directions: usbredir, port and webdav channels.</summary>
internal enum SpiceVmcMsg : ushort
{
    Data = 101,
    CompressedData = 102,
}

internal enum SpiceVmcMsgc : ushort
{
    Data = 101,
    CompressedData = 102,
}

/// <summary>Port (and webdav) channel, server → client, in addition to SpiceVMC.</summary>
internal enum SpicePortMsg : ushort
{
    Init = 201,
    Event = 202,
}

/// <summary>Port (and webdav) channel, client → server, in addition to SpiceVMC.</summary>
internal enum SpicePortMsgc : ushort
{
    Event = 201,
}

/// <summary>SpiceMigrateFlags carried by the common MIGRATE message.</summary>
[Flags]
internal enum SpiceMigrateFlags : uint
{
    None = 0,
    NeedFlush = 1,
    NeedDataTransfer = 2,
}

/// <summary>SpiceMouseMode bits.</summary>
[Flags]
internal enum SpiceMouseMode : uint
{
    None = 0,
    Server = 1,
    Client = 2,
}
