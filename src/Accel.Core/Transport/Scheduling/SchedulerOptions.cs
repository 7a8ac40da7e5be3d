using Accel.Core.Transport;

namespace Accel.Core.Transport.Scheduling;

/// <summary>
/// How the priority scheduler shares the link among stream urgencies (0 most urgent … 7). Urgencies below
/// <see cref="FirstWeightedUrgency"/> (0–2, more urgent than RFC 9218's default) are served in strict order; the
/// default urgency and the less urgent ones (3–7) share what is left by weighted (deficit) round-robin.
/// </summary>
public sealed record SchedulerOptions
{
    /// <summary>The first urgency served by weight rather than strictly (RFC 9218's default, 3).</summary>
    public const byte FirstWeightedUrgency = StreamUrgency.Default;

    /// <summary>Bytes a weight of 1 earns per round.</summary>
    public int QuantumBytes { get; init; } = 1200;

    /// <summary>Weights of urgencies 3, 4, 5, 6 and 7, in that order: each one's share among the weighted urgencies.</summary>
    public IReadOnlyList<int> Weights { get; init; } = [4, 4, 1, 1, 1];

    /// <summary>
    /// After this many bytes of strict-priority traffic in a row while weighted urgencies are waiting, one weighted
    /// quantum is served, so a flood of urgent data cannot starve the rest forever. Zero disables the guard.
    /// </summary>
    public int StrictBurstBytes { get; init; } = 64 * 1024;

    public static SchedulerOptions Default { get; } = new();

    /// <summary>Whether <paramref name="urgency"/> is served in strict order (ahead of every weighted one).</summary>
    public static bool IsStrict(byte urgency) => urgency < FirstWeightedUrgency;

    internal int WeightOf(int urgency) => urgency < FirstWeightedUrgency ? 0 : Weights[urgency - FirstWeightedUrgency];

    internal void Validate()
    {
        if (QuantumBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(QuantumBytes), QuantumBytes, "must be positive");
        }

        if (Weights.Count != StreamUrgency.Levels - FirstWeightedUrgency)
        {
            throw new ArgumentOutOfRangeException(nameof(Weights), Weights.Count, "one weight for each of urgencies 3 to 7");
        }

        foreach (var weight in Weights)
        {
            if (weight <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(Weights), "every weighted urgency needs a weight of at least 1 so it never starves");
            }
        }

        if (StrictBurstBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(StrictBurstBytes), StrictBurstBytes, "must not be negative");
        }
    }
}
