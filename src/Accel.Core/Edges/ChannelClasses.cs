using Accel.Core.Spice.Protocol;
using Accel.Core.Transport;

namespace Accel.Core.Edges;

/// <summary>The one place that says how urgent a SPICE channel is on the WAN.</summary>
internal static class ChannelClasses
{
    /// <summary>WAN priority of a channel: inputs, cursor, main, display, then everything else as bulk.</summary>
    public static PriorityClass ToPriorityClass(this SpiceChannelType channelType) => channelType switch
    {
        SpiceChannelType.Inputs => PriorityClass.Input,
        SpiceChannelType.Cursor => PriorityClass.Cursor,
        SpiceChannelType.Main => PriorityClass.Main,
        SpiceChannelType.Display => PriorityClass.Display,
        _ => PriorityClass.Bulk,
    };
}
