using System.Net.Quic;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Accel.Core.Transport.MsQuic;

/// <summary>
/// Per-connection statistics straight from libmsquic (QUIC_PARAM_CONN_STATISTICS_V2): System.Net.Quic has no API
/// for them, but its connection holds the MsQuic handle, and the library answers GetParam on it from any thread.
/// Where the handle cannot be found (a System.Net.Quic that renamed its field) the connection reports
/// <see cref="TransportCapabilities.None"/> and only the byte counts it measures itself.
/// </summary>
[SupportedOSPlatform("linux")]
[SupportedOSPlatform("windows")]
[SupportedOSPlatform("osx")]
internal static unsafe class MsQuicStatistics
{
    private const uint ParamConnStatisticsV2 = 0x05000016;

    private static readonly FieldInfo? s_handleField =
        typeof(QuicConnection).GetField("_handle", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>The connection's MsQuic handle (kept alive by the connection), or null.</summary>
    public static SafeHandle? HandleOf(QuicConnection connection) => s_handleField?.GetValue(connection) as SafeHandle;

    public static bool TryRead(SafeHandle handle, out ConnectionStatistics statistics)
    {
        statistics = default;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            NativeStatistics native;
            var length = (uint)sizeof(NativeStatistics);
            if (!MsQuicLibrary.TryGetParam(handle.DangerousGetHandle(), ParamConnStatisticsV2, &native, ref length) || length < 188)
            {
                return false;
            }

            var lost = (long)(native.SendSuspectedLostPackets - Math.Min(native.SendSuspectedLostPackets, native.SendSpuriousLostPackets));
            statistics = new ConnectionStatistics
            {
                SmoothedRtt = Micros(native.Rtt),
                MinRtt = Micros(native.MinRtt),
                RttVariance = length >= sizeof(NativeStatistics) ? Micros(native.RttVariance) : null,
                CongestionWindow = native.SendCongestionWindow,
                PacketsLost = lost,
                BytesSent = (long)native.SendTotalBytes,
                BytesReceived = (long)native.RecvTotalBytes,
                PacketsSent = (long)native.SendTotalPackets,
                PacketsReceived = (long)native.RecvTotalPackets,
            };
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static TimeSpan Micros(uint us) => TimeSpan.FromTicks(us * (TimeSpan.TicksPerMillisecond / 1000));

    /// <summary>QUIC_STATISTICS_V2 of msquic.h (v2.5 size); fields are appended only, older libraries fill less.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct NativeStatistics
    {
        public ulong CorrelationId;
        public uint Flags;
        public uint Rtt;
        public uint MinRtt;
        public uint MaxRtt;
        public ulong TimingStart;
        public ulong TimingInitialFlightEnd;
        public ulong TimingHandshakeFlightEnd;
        public uint HandshakeClientFlight1Bytes;
        public uint HandshakeServerFlight1Bytes;
        public uint HandshakeClientFlight2Bytes;
        public ushort SendPathMtu;
        public ulong SendTotalPackets;
        public ulong SendRetransmittablePackets;
        public ulong SendSuspectedLostPackets;
        public ulong SendSpuriousLostPackets;
        public ulong SendTotalBytes;
        public ulong SendTotalStreamBytes;
        public uint SendCongestionCount;
        public uint SendPersistentCongestionCount;
        public ulong RecvTotalPackets;
        public ulong RecvReorderedPackets;
        public ulong RecvDroppedPackets;
        public ulong RecvDuplicatePackets;
        public ulong RecvTotalBytes;
        public ulong RecvTotalStreamBytes;
        public ulong RecvDecryptionFailures;
        public ulong RecvValidAckFrames;
        public uint KeyUpdateCount;
        public uint SendCongestionWindow;
        public uint DestCidUpdateCount;
        public uint SendEcnCongestionCount;
        public byte HandshakeHopLimitTTL;
        public uint RttVariance;
    }
}
