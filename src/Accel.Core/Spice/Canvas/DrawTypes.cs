namespace Accel.Core.Spice.Canvas;

/// <summary>Draw message type numbers.</summary>
internal static class DrawTypes
{
    public const ushort Fill = 302;
    public const ushort Opaque = 303;
    public const ushort Copy = 304;
    public const ushort Blend = 305;
    public const ushort Blackness = 306;
    public const ushort Whiteness = 307;
    public const ushort Invers = 308;
    public const ushort Rop3 = 309;
    public const ushort Stroke = 310;
    public const ushort Text = 311;
    public const ushort Transparent = 312;
    public const ushort AlphaBlend = 313;
    public const ushort Composite = 318;
}
