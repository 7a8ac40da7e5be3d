using System.Net.Quic;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Accel.Core.Transport.Scheduling;

namespace Accel.Core.Transport.MsQuic;

/// <summary>
/// The seam's urgencies at libmsquic's packet packing. System.Net.Quic has no priority API, but libmsquic has one per
/// stream (QUIC_PARAM_STREAM_PRIORITY, a uint16: the connection's send queue is kept sorted by it, higher first, so a
/// stream with data to send and a higher priority goes into the next packet before any lower one; 0x7FFF by default)
/// and one per connection for streams of equal priority (QUIC_PARAM_CONN_STREAM_SCHEDULING_SCHEME: first come, first
/// served by default, or round-robin). Both are set on the MsQuic handles System.Net.Quic holds, found by reflection
/// as for <see cref="MsQuicStatistics"/>.
/// </summary>
/// <remarks>
/// The strict urgencies (0–2) become priorities above libmsquic's default, most urgent highest; the weighted ones
/// (3–7) all stay at the default, round-robin among themselves, because libmsquic's priorities are strict and would
/// starve urgency 7 behind 3: their weighted shares are given above the engine, where the <see cref="WriteArbiter"/>
/// hands their data to System.Net.Quic in deficit round-robin order. Not reproduced in libmsquic: the scheduler's
/// <see cref="SchedulerOptions.StrictBurstBytes"/> guard (a flood of strict-urgency data holds the weighted streams
/// back for as long as it lasts).
/// </remarks>
[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal static unsafe class MsQuicPriority
{
    /// <summary>libmsquic's default stream priority (QUIC_STREAM_PRIORITY_DEFAULT): where the weighted urgencies stay.</summary>
    public const ushort Default = 0x7FFF;

    private const uint ParamStreamPriority = 0x08000003;
    private const uint ParamConnStreamSchedulingScheme = 0x0500000C;
    private const uint RoundRobin = 1; // QUIC_STREAM_SCHEDULING_SCHEME_ROUND_ROBIN

    private static readonly FieldInfo? s_streamHandle =
        typeof(QuicStream).GetField("_handle", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>Whether stream handles can be reached at all (a System.Net.Quic that renamed its field cannot).</summary>
    public static bool Reachable => s_streamHandle is not null && MsQuicLibrary.HasApi;

    /// <summary>The libmsquic priority of <paramref name="urgency"/> (0 most urgent … 7).</summary>
    public static ushort Of(byte urgency) =>
        SchedulerOptions.IsStrict(urgency) ? (ushort)(Default + SchedulerOptions.FirstWeightedUrgency - urgency) : Default;

    /// <summary>The stream's MsQuic handle (kept alive by the stream), or null.</summary>
    public static SafeHandle? HandleOf(QuicStream stream) => s_streamHandle?.GetValue(stream) as SafeHandle;

    /// <summary>
    /// Sets the stream's priority. libmsquic applies it on the connection's worker (the call waits for it), also to
    /// data already in its send buffer. False where the handle is gone or the call failed.
    /// </summary>
    public static bool TrySet(SafeHandle stream, ushort priority) =>
        MsQuicSettings.WithHandle(stream, priority, static (h, p) => MsQuicLibrary.TrySetParam(h, ParamStreamPriority, &p, sizeof(ushort)));

    /// <summary>The stream's priority read back from libmsquic, or null.</summary>
    public static ushort? Read(SafeHandle stream)
    {
        ushort value = 0;
        var read = MsQuicSettings.WithHandle(stream, (nint)(&value), static (h, buffer) =>
        {
            var length = (uint)sizeof(ushort);
            return MsQuicLibrary.TryGetParam(h, ParamStreamPriority, (void*)buffer, ref length) && length == sizeof(ushort);
        });
        return read ? value : null;
    }

    /// <summary>Streams of equal priority share the connection round-robin (RFC 9218's "incremental"), as the seam says.</summary>
    public static bool TrySetRoundRobin(SafeHandle connection) =>
        MsQuicSettings.WithHandle(connection, RoundRobin, static (h, scheme) => MsQuicLibrary.TrySetParam(h, ParamConnStreamSchedulingScheme, &scheme, sizeof(uint)));
}
