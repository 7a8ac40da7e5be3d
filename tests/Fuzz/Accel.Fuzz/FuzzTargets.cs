using Accel.Fuzz.Targets;

namespace Accel.Fuzz;

/// <summary>Every fuzz target, by name.</summary>
internal static class FuzzTargets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
        [.. ProtocolTargets.All, .. DisplayTargets.All, .. CodecTargets.All, .. EdgeTargets.All];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);
}
