using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Accel.Core.Diagnostics;
using Prometheus;

namespace Accel.Edge.Hosting;

/// <summary>
/// Feeds the Core meter (<see cref="AccelMetrics.MeterName"/>) into prometheus-net metrics with Prometheus names:
/// dots become underscores, the unit becomes a suffix (By → _bytes, s → _seconds) and counters end in _total.
/// prometheus-net's own MeterAdapter exports counters as gauges and drops the labels of up-down counters, so the
/// edge does the mapping itself. Label children are cached, so a measurement allocates nothing once warm. A series of
/// an observable gauge that a collection no longer reports (a peer edge that went away) is removed, not left at its
/// last value.
/// </summary>
internal sealed class PrometheusBridge : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly MetricFactory _factory;
    private readonly ConcurrentDictionary<Instrument, Collector> _metrics = new();
    private readonly ConcurrentDictionary<ChildKey, object> _children = new();
    /// <summary>Observable gauge series and the collection that last reported each.</summary>
    private readonly ConcurrentDictionary<ChildKey, long> _gaugeSeen = new();
    private long _collection;

    public PrometheusBridge(CollectorRegistry registry)
    {
        _factory = Metrics.WithCustomRegistry(registry);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == AccelMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _listener.Start();
        registry.AddBeforeCollectCallback(Collect);
    }

    /// <summary>Records the observable instruments, then removes the gauge series this collection did not report.</summary>
    private void Collect()
    {
        lock (_gaugeSeen)
        {
            long collection = ++_collection;
            _listener.RecordObservableInstruments();
            foreach (var (key, seen) in _gaugeSeen)
            {
                if (seen != collection && _children.TryRemove(key, out var child))
                {
                    _gaugeSeen.TryRemove(key, out _);
                    ((ChildBase)child).Remove();
                }
            }
        }
    }

    public void Dispose() => _listener.Dispose();

    internal static string PrometheusName(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_').Replace('-', '_');
        var suffix = instrument.Unit switch
        {
            "By" => "_bytes",
            "s" => "_seconds",
            _ => string.Empty,
        };
        if (suffix.Length > 0 && !name.EndsWith(suffix, StringComparison.Ordinal))
        {
            name += suffix;
        }

        return IsCounter(instrument) ? name + "_total" : name;
    }

    private static bool IsCounter(Instrument instrument)
        => instrument is Counter<long> or Counter<double> or ObservableCounter<long> or ObservableCounter<double>;

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        try
        {
            RecordCore(instrument, value, tags);
        }
        catch (ArgumentException)
        {
            // A tag set that does not match the metric's labels: a programming error in Core, never worth failing a relay.
        }
        catch (InvalidOperationException)
        {
        }
    }

    private void RecordCore(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = new ChildKey(instrument, tags.Length > 0 ? tags[0].Value as string : null, tags.Length > 1 ? tags[1].Value as string : null);
        if (!_children.TryGetValue(key, out var child))
        {
            child = CreateChild(instrument, tags);
            _children.TryAdd(key, child);
        }

        switch (instrument)
        {
            case Counter<long> or Counter<double>:
                ((Counter.Child)child).Inc(value);
                break;
            case ObservableCounter<long> or ObservableCounter<double>:
                ((Counter.Child)child).IncTo(value);
                break;
            case UpDownCounter<long> or UpDownCounter<double>:
                ((Gauge.Child)child).Inc(value);
                break;
            case Histogram<long> or Histogram<double>:
                ((Histogram.Child)child).Observe(value);
                break;
            case ObservableGauge<long> or ObservableGauge<double>:
                ((Gauge.Child)child).Set(value);
                _gaugeSeen[key] = Volatile.Read(ref _collection);
                break;
            default:
                ((Gauge.Child)child).Set(value);
                break;
        }
    }

    private object CreateChild(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var names = new string[tags.Length];
        var values = new string[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            names[i] = tags[i].Key.Replace('.', '_');
            values[i] = tags[i].Value?.ToString() ?? string.Empty;
        }

        var help = instrument.Description ?? instrument.Name;
        var collector = _metrics.GetOrAdd(instrument, i => i switch
        {
            _ when IsCounter(i) => _factory.CreateCounter(PrometheusName(i), help, names),
            Histogram<long> or Histogram<double> => _factory.CreateHistogram(PrometheusName(i), help, names, new HistogramConfiguration { Buckets = HistogramBuckets(i) }),
            _ => _factory.CreateGauge(PrometheusName(i), help, names),
        });
        return collector switch
        {
            Counter c => c.WithLabels(values),
            Gauge g => g.WithLabels(values),
            Histogram h => h.WithLabels(values),
            _ => throw new InvalidOperationException("unexpected collector"),
        };
    }

    /// <summary>Buckets for a histogram: seconds from 1 ms to 10 s, otherwise powers of two.</summary>
    private static double[] HistogramBuckets(Instrument instrument) => instrument.Unit == "s"
        ? [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
        : Prometheus.Histogram.ExponentialBuckets(1, 2, 24);

    private readonly record struct ChildKey(Instrument Instrument, string? First, string? Second);
}
