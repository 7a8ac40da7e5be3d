namespace Accel.Core.Spice.Protocol.Framing;

/// <summary>Sizes of the two data headers (spice/protocol.h).</summary>
internal static class SpiceDataHeader
{
    /// <summary>SpiceDataHeader: u64 serial, u16 type, u32 size, u32 sub_list.</summary>
    public const int FullLength = 18;

    /// <summary>SpiceMiniDataHeader: u16 type, u32 size.</summary>
    public const int MiniLength = 6;

    /// <summary>SpiceSubMessage header: u16 type, u32 size.</summary>
    public const int SubMessageHeaderLength = 6;

    public static int Length(bool miniHeader) => miniHeader ? MiniLength : FullLength;
}
