using System.Diagnostics;
using System.Globalization;

namespace Accel.Benchmarks.Sessions;

/// <summary>
/// Every key the sessions type: when, in which phase of the run, and when its echo came back. Keys are numbered across
/// all sessions; a key's echo carries its number.
/// </summary>
internal sealed class KeyRecorder(Stopwatch clock)
{
    private readonly Lock _lock = new();
    private readonly List<Key> _keys = [];
    private string _phase = "warm-up";

    public string Phase
    {
        get
        {
            lock (_lock)
            {
                return _phase;
            }
        }

        set
        {
            lock (_lock)
            {
                _phase = value;
            }
        }
    }

    public uint Typed(int session)
    {
        lock (_lock)
        {
            _keys.Add(new Key(session, _phase, clock.Elapsed.TotalMilliseconds, double.NaN));
            return (uint)(_keys.Count - 1);
        }
    }

    public void Echoed(int session, uint key)
    {
        var now = clock.Elapsed.TotalMilliseconds;
        lock (_lock)
        {
            if (key < _keys.Count && _keys[(int)key].Session == session && double.IsNaN(_keys[(int)key].EchoMs))
            {
                _keys[(int)key] = _keys[(int)key] with { EchoMs = now };
            }
        }
    }

    /// <summary>
    /// The phase's keys: how many, how many came back within <paramref name="grace"/> of being typed (typed later
    /// than <paramref name="cutoffMs"/> they are not judged yet), and the key-to-echo percentiles.
    /// </summary>
    public string Summary(string phase, double cutoffMs, double grace = 5000)
    {
        List<double> times = [];
        int typed = 0, lost = 0;
        lock (_lock)
        {
            foreach (var k in _keys)
            {
                if (k.Phase != phase || k.TypedMs > cutoffMs - grace)
                {
                    continue;
                }

                typed++;
                var ms = k.EchoMs - k.TypedMs;
                if (double.IsNaN(ms) || ms > grace)
                {
                    lost++;
                }
                else
                {
                    times.Add(ms);
                }
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{typed} keys, {lost} without an echo within {grace / 1000:0} s, key-to-echo {Percentiles(times)}");
    }

    /// <summary>p50 / p90 / p99 / max of <paramref name="ms"/>.</summary>
    public static string Percentiles(List<double> ms)
    {
        if (ms.Count == 0)
        {
            return "-";
        }

        ms.Sort();
        double At(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"p50 {At(0.50):F1} / p90 {At(0.90):F1} / p99 {At(0.99):F1} / max {ms[^1]:F1} ms");
    }

    private readonly record struct Key(int Session, string Phase, double TypedMs, double EchoMs);
}
