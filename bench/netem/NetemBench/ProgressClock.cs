namespace NetemBench;

/// <summary>
/// Estimates how long the rest of a run takes: each workload's remaining samples at that workload's mean time so far
/// (the mean of every sample seen when the workload has none yet), plus the set-up time seen so far (link checks,
/// Xspice, contender start) per sample, for the samples still to come. An estimate, printed with a tilde.
/// </summary>
public sealed class ProgressClock
{
    private readonly Dictionary<string, int> _left;
    private readonly Dictionary<string, (int Count, double Seconds)> _seen = [];
    private int _samples;
    private double _sampleSeconds;

    /// <param name="samplesPerWorkload">How many samples the run takes of each workload.</param>
    public ProgressClock(IReadOnlyDictionary<string, int> samplesPerWorkload)
    {
        _left = samplesPerWorkload.ToDictionary(kv => kv.Key, kv => kv.Value);
        Total = _left.Values.Sum();
    }

    public int Total { get; }

    /// <summary>Samples done or skipped.</summary>
    public int Done => Total - _left.Values.Sum();

    /// <summary>A sample of <paramref name="workload"/> took <paramref name="seconds"/>.</summary>
    public void Sampled(string workload, double seconds)
    {
        _left[workload] = Math.Max(0, _left.GetValueOrDefault(workload) - 1);
        var (count, sum) = _seen.GetValueOrDefault(workload);
        _seen[workload] = (count + 1, sum + seconds);
        _samples++;
        _sampleSeconds += seconds;
    }

    /// <summary><paramref name="count"/> samples of <paramref name="workload"/> will not run (contender unavailable or failed to start).</summary>
    public void Skipped(string workload, int count) => _left[workload] = Math.Max(0, _left.GetValueOrDefault(workload) - count);

    /// <summary>Estimated time left after <paramref name="elapsed"/> of running; null before the first sample.</summary>
    public TimeSpan? Remaining(TimeSpan elapsed)
    {
        if (_samples == 0)
        {
            return null;
        }

        var overall = _sampleSeconds / _samples;
        var overheadPerSample = Math.Max(0, elapsed.TotalSeconds - _sampleSeconds) / _samples;
        var seconds = 0.0;
        foreach (var (workload, left) in _left)
        {
            var mean = _seen.TryGetValue(workload, out var s) ? s.Seconds / s.Count : overall;
            seconds += left * (mean + overheadPerSample);
        }

        return TimeSpan.FromSeconds(Math.Round(seconds));
    }

    /// <summary>h:mm:ss (hours are not wrapped at 60 minutes).</summary>
    public static string Format(TimeSpan t) => $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}";
}
