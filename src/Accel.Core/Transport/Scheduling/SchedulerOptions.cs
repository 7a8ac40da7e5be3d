using Accel.Core.Transport;

namespace Accel.Core.Transport.Scheduling;

/// <summary>
/// How the priority scheduler shares the link. Control, Input and Cursor are served in strict priority;
/// Main, Display and Bulk share what is left by weighted (deficit) round-robin.
/// </summary>
public sealed record SchedulerOptions
{
    /// <summary>Bytes a weight of 1 earns per round.</summary>
    public int QuantumBytes { get; init; } = 1200;

    public int MainWeight { get; init; } = 4;

    public int DisplayWeight { get; init; } = 4;

    /// <summary>Bulk's weight: its guaranteed share among the weighted classes.</summary>
    public int BulkWeight { get; init; } = 1;

    /// <summary>
    /// After this many bytes of strict-priority traffic in a row while weighted classes are waiting, one weighted
    /// quantum is served, so a flood of inputs cannot starve the rest forever. Zero disables the guard.
    /// </summary>
    public int StrictBurstBytes { get; init; } = 64 * 1024;

    public static SchedulerOptions Default { get; } = new();

    internal int WeightOf(PriorityClass cls) => cls switch
    {
        PriorityClass.Main => MainWeight,
        PriorityClass.Display => DisplayWeight,
        PriorityClass.Bulk => BulkWeight,
        _ => 0,
    };

    internal void Validate()
    {
        if (QuantumBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(QuantumBytes), QuantumBytes, "must be positive");
        }

        if (MainWeight <= 0 || DisplayWeight <= 0 || BulkWeight <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(BulkWeight), "every weighted class needs a weight of at least 1 so it never starves");
        }

        if (StrictBurstBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StrictBurstBytes), StrictBurstBytes, "must not be negative");
        }
    }
}
