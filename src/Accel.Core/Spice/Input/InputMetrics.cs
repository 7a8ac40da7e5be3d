using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;

namespace Accel.Core.Spice.Input;

/// <summary>The input path's instruments (on the <see cref="AccelMetrics.MeterName"/> meter).</summary>
internal static class InputMetrics
{
    public static readonly Counter<long> PointerDatagrams = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.input.pointer_datagrams", "{datagram}", "Pointer positions the client edge sent as datagrams instead of on the inputs stream");

    public static readonly Counter<long> PointerMarkers = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.input.pointer_markers", "{message}", "Pointer positions the client edge sent reliably (before a key or button, after the pointer stopped, or when a datagram could not go)");

    public static readonly Counter<long> RedundancyBytes = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.input.redundancy_bytes", "By", "Bytes of input copies (datagrams repeating inputs-stream messages under loss): the redundancy's cost");

    public static readonly Counter<long> PayloadBytes = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.input.payload_bytes", "By", "Bytes the client edge wrote on inputs streams that take datagrams (what the copies protect)");

    public static readonly Counter<long> DeliveredByCopy = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.input.delivered_by_copy", "{message}", "Inputs the server edge took from their copy because the stream had not delivered them yet");

    public static readonly Counter<long> Malformed = AccelMetrics.Meter.CreateCounter<long>(
        "spiceaccel.input.datagrams_malformed", "{datagram}", "Input datagrams the server edge could not read (dropped)");
}
