using System.Diagnostics;
using NetemLink;

namespace NetemBench;

public sealed record RunOptions
{
    public required IReadOnlyList<string> Profiles { get; init; }
    public required IReadOnlyList<IContender> Contenders { get; init; }
    public required IReadOnlyList<string> Workloads { get; init; }
    public int Repeat { get; init; } = 3;
    public required string ProfileDir { get; init; }
    public required string ReportDir { get; init; }
    public TimeSpan WorkloadTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public int ProbeCount { get; init; } = 400;
    public bool MeasureRate { get; init; } = true;
    public Probe.ProbeSettings Probe { get; init; } = NetemBench.Probe.ProbeSettings.Full;

    /// <summary>The outage workload's outage lengths, in seconds.</summary>
    public IReadOnlyList<int> OutageSeconds { get; init; } = NetemBench.Probe.OutageWorkload.DefaultSeconds;
}

public sealed record LinkCheck(
    double AskedRttMs, double MeasuredRttMs, double AskedLossPercent, double MeasuredLossUpPercent, double MeasuredLossDownPercent,
    double AskedRateMbit, double? MeasuredRateDownMbit, double TimerLatenessMeanMs, double TimerLatenessMaxMs, List<string> Deviations)
{
    /// <summary>The downstream rate was not probed (<c>--quick</c>, or a profile without a rate cap).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool RateMeasured => MeasuredRateDownMbit is not null;

    /// <summary>What the progress line and the report say about the rate.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string RateText => MeasuredRateDownMbit is { } r ? $"{r:0.00} Mbit/s" : "not measured";
}

public sealed record ResultRow(
    string Profile, string Contender, string Workload, string Status, int Ok, int Runs,
    double? MedianSeconds, double? MeanSeconds, double? MinSeconds, double? MaxSeconds,
    double WanBytesUp, double WanBytesDown, Dictionary<string, double> CpuSeconds, List<string> Errors)
{
    /// <summary>In-session single figures, averaged over the runs (first screen, pointer updates/s, …).</summary>
    public Dictionary<string, double> Figures { get; init; } = [];

    /// <summary>Keys typed and keys whose echo never came within the timeout, over all runs (failed ones included).</summary>
    public int Keys { get; init; }

    public int KeysWithoutEcho { get; init; }

    /// <summary>In-session distributions over all runs pooled (key-to-echo, freshness, …), in ms.</summary>
    public Dictionary<string, Stats> Distributions { get; init; } = [];

    /// <summary>The pooled samples behind <see cref="Distributions"/> (for plots; not in report.json).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Dictionary<string, List<double>> Samples { get; init; } = [];
}

public sealed record ProfileResult(Profile Profile, LinkCheck? Link, List<ResultRow> Rows)
{
    /// <summary>PNG plots written next to the report (file names relative to it).</summary>
    public List<PlotFile> Plots { get; } = [];

    public List<string> PlotErrors { get; } = [];
}

public sealed record PlotFile(string Metric, string File);

/// <summary>Runs the matrix: per profile one topology and one Xspice; each contender on the identical link.</summary>
public sealed class Runner(RunOptions options, Action<string> progress)
{
    public async Task<List<ProfileResult>> RunAsync(CancellationToken ct)
    {
        var results = new List<ProfileResult>();
        var clock = new ProgressClock(options.Workloads.Distinct().ToDictionary(
            w => w, w => options.Profiles.Count * options.Contenders.Count * options.Repeat * options.Workloads.Count(x => x == w)));
        var elapsed = Stopwatch.StartNew();
        foreach (var name in options.Profiles)
        {
            var profile = Profile.Load(options.ProfileDir, name);
            var rows = new List<ResultRow>();
            progress($"[{profile.Name}] creating namespaces and the emulated link");
            using var topology = Topology.Create(profile.Direction(up: false), profile.Direction(up: true));
            ActiveTopologies.Add(topology);
            try
            {
                var link = CheckLink(profile, topology, ct);
                foreach (var d in link.Deviations)
                {
                    progress($"[{profile.Name}] LINK DEVIATION: {d}");
                }

                progress($"[{profile.Name}] link: RTT {link.MeasuredRttMs:0.00} ms (asked {link.AskedRttMs}), loss up/down {link.MeasuredLossUpPercent:0.0}/{link.MeasuredLossDownPercent:0.0}% (asked {link.AskedLossPercent:0.0}), rate down {link.RateText} (asked {link.AskedRateMbit})");
                progress($"[{profile.Name}] starting Xspice in {topology.DataCentreNs}");
                using var xspice = await XspiceServer.StartAsync(topology.DataCentreNs, options.ReportDir, ct);
                foreach (var contender in options.Contenders)
                {
                    if (contender.UnavailableReason is { } why)
                    {
                        foreach (var w in options.Workloads)
                        {
                            rows.Add(new ResultRow(profile.Name, contender.Name, w, "unavailable: " + why, 0, 0, null, null, null, null, 0, 0, [], []));
                            clock.Skipped(w, options.Repeat);
                        }

                        progress($"[{profile.Name}] {contender.Name}: not available ({why})");
                        continue;
                    }

                    // A fresh contender session per workload: a tunnel wedged by one workload's load (kcptun after a
                    // flood) must not fail the next, and no workload inherits another's queues.
                    foreach (var workload in options.Workloads)
                    {
                        ContenderSession session;
                        try
                        {
                            session = await contender.StartAsync(new ContenderContext(topology, XspiceServer.SpicePort, options.ReportDir), ct);
                        }
                        catch (Exception ex) when (ex is not OperationCanceledException)
                        {
                            rows.Add(new ResultRow(profile.Name, contender.Name, workload, "failed to start: " + ex.Message, 0, options.Repeat, null, null, null, null, 0, 0, [], [ex.Message]));
                            clock.Skipped(workload, options.Repeat);
                            continue;
                        }

                        using (session)
                        {
                            var samples = new List<Sample>();
                            var up0 = topology.Up.Counters.Snapshot();
                            var down0 = topology.Down.Counters.Snapshot();
                            var cpu0 = CpuOf(xspice, session);
                            var edge0 = session.MetricsPort is { } mp ? EdgeCounters.Read(topology.BranchNs, mp) : [];
                            var self0 = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                            for (var r = 0; r < options.Repeat; r++)
                            {
                                ct.ThrowIfCancellationRequested();
                                var left = clock.Remaining(elapsed.Elapsed) is { } l ? $", ~{ProgressClock.Format(l)} left (estimated)" : "";
                                progress($"[{clock.Done + 1}/{clock.Total}] {profile.Name} / {contender.Name} / {workload} #{r + 1} — {ProgressClock.Format(elapsed.Elapsed)} elapsed{left}");
                                var started = elapsed.Elapsed;
                                var s = workload switch
                                {
                                    "connect" => await Workloads.ConnectAsync(topology.BranchNs, session.Host, session.Port,
                                        Path.Combine(options.ReportDir, $"{profile.Name}-{contender.Name}-{r}.ppm"), options.WorkloadTimeout, ct),
                                    "update" => await Workloads.UpdateAsync(topology.BranchNs, topology.DataCentreNs, xspice.Env,
                                        session.Host, session.Port, options.ReportDir, options.WorkloadTimeout, ct),
                                    Probe.GtkKeyEcho.Workload => await Probe.GtkKeyEcho.RunAsync(xspice, topology.BranchNs, session.Host, session.Port,
                                        options.ReportDir, options.Probe, ct),
                                    Probe.OutageWorkload.Workload => await BoundedAsync(Probe.OutageWorkload.RunAsync(xspice, topology, session.Host, session.Port,
                                        options.ReportDir, options.OutageSeconds, progress, ct), Probe.OutageWorkload.Bound(options.OutageSeconds), ct),
                                    _ when Probe.ProbeWorkloads.All.Contains(workload) => await BoundedAsync(Probe.ProbeWorkloads.RunAsync(workload, xspice, topology.BranchNs,
                                        session.Host, session.Port, options.ReportDir, options.Probe, ct, topology), TimeSpan.FromMinutes(5), ct),
                                    _ => throw new ArgumentException($"unknown workload {workload}"),
                                };
                                clock.Sampled(workload, (elapsed.Elapsed - started).TotalSeconds);
                                progress(s.Ok ? $"      {s.Seconds:0.000} s{Summary(s)}" : $"      FAILED: {s.Error}{Summary(s)}");
                                samples.Add(s);
                            }

                            var up = topology.Up.Counters.Snapshot().Minus(up0);
                            var down = topology.Down.Counters.Snapshot().Minus(down0);
                            var cpu1 = CpuOf(xspice, session);
                            var cpu = cpu1.ToDictionary(kv => kv.Key, kv => Math.Round((kv.Value - cpu0.GetValueOrDefault(kv.Key)) / options.Repeat, 3));
                            if (workload == Probe.GtkKeyEcho.Workload)
                            {
                                cpu["remote-viewer"] = Math.Round(samples.Sum(s => s.ClientCpuSeconds) / options.Repeat, 3);
                            }
                            else if (workload is "connect" or "update")
                            {
                                cpu["spicy-screenshot"] = Math.Round(samples.Sum(s => s.ClientCpuSeconds) / options.Repeat, 3);
                            }
                            else
                            {
                                cpu["x-workload"] = Math.Round(samples.Sum(s => s.DeskCpuSeconds) / options.Repeat, 3);
                            }

                            cpu["emulator+bench"] = Math.Round((Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - self0) / options.Repeat, 3);
                            var ok = samples.Where(s => s.Ok).Select(s => s.Seconds).Order().ToList();
                            var pooled = samples.SelectMany(s => s.Series).GroupBy(kv => kv.Key)
                                .ToDictionary(g => g.Key, g => g.SelectMany(kv => kv.Value).ToList());
                            var figures = samples.Where(s => s.Ok).SelectMany(s => s.Values).GroupBy(kv => kv.Key)
                                .ToDictionary(g => g.Key, g => Math.Round(g.Average(kv => kv.Value), 3));
                            if (session.MetricsPort is { } port)
                            {
                                // The client edge's own counts over the runs (per run, like the WAN bytes); a counter
                                // not exported before the runs had counted nothing yet.
                                foreach (var (counter, after) in EdgeCounters.Read(topology.BranchNs, port))
                                {
                                    figures[counter] = Math.Round((after - edge0.GetValueOrDefault(counter)) / options.Repeat, 1);
                                }
                            }
                            rows.Add(new ResultRow(profile.Name, contender.Name, workload,
                                ok.Count == samples.Count ? "ok" : $"{samples.Count - ok.Count} failed", ok.Count, samples.Count,
                                ok.Count > 0 ? ok[ok.Count / 2] : null, ok.Count > 0 ? ok.Average() : null,
                                ok.Count > 0 ? ok[0] : null, ok.Count > 0 ? ok[^1] : null,
                                (double)up.BytesOut / options.Repeat, (double)down.BytesOut / options.Repeat, cpu,
                                samples.Where(s => !s.Ok).Select(s => s.Error ?? "").ToList())
                            {
                                Figures = figures,
                                Keys = (int)samples.Sum(s => s.Values.GetValueOrDefault("keys")),
                                KeysWithoutEcho = (int)samples.Sum(s => s.Values.GetValueOrDefault("keyEchoTimeouts")),
                                Distributions = pooled.ToDictionary(kv => kv.Key, kv => Stats.Of(kv.Value)),
                                Samples = pooled,
                            });
                        }
                    }
                }

                results.Add(new ProfileResult(profile, link, rows));
            }
            finally
            {
                ActiveTopologies.Remove(topology);
            }
        }

        return results;
    }

    /// <summary>A sample that overruns its bound fails (the run goes on; the topology's teardown ends what it left running).</summary>
    private static async Task<Sample> BoundedAsync(Task<Sample> sample, TimeSpan bound, CancellationToken ct)
    {
        try
        {
            return await sample.WaitAsync(bound, ct);
        }
        catch (TimeoutException)
        {
            return new Sample(false, bound.TotalSeconds, 0, $"did not finish within {bound.TotalMinutes:0} min");
        }
    }

    private static string Summary(Sample s)
    {
        var parts = s.Series.Select(kv => (kv.Key, Stats: Stats.Of(kv.Value)))
            .Select(x => $"{x.Key} p50 {x.Stats.P50:0} p99 {x.Stats.P99:0} (n={x.Stats.Count})")
            .Concat(s.Values.Select(kv => $"{kv.Key} {kv.Value:0.###}"));
        var text = string.Join(", ", parts);
        return text.Length == 0 ? "" : " — " + text;
    }

    private static Dictionary<string, double> CpuOf(XspiceServer xspice, ContenderSession session)
    {
        var d = new Dictionary<string, double> { ["Xorg"] = xspice.CpuSeconds() };
        foreach (var p in session.Processes)
        {
            d[p.Name] = p.CpuSeconds();
        }

        return d;
    }

    private LinkCheck CheckLink(Profile profile, Topology t, CancellationToken ct)
    {
        var interval = Math.Max(2, profile.RttMs / 20);
        var up = LinkProbe.MeasureDelayAndLoss(t.BranchNs, t.DataCentreNs, t.DataCentreAddress, options.ProbeCount, interval, ct);
        var down = LinkProbe.MeasureDelayAndLoss(t.DataCentreNs, t.BranchNs, t.BranchAddress, options.ProbeCount, interval, ct);
        double? rate = null;
        if (options.MeasureRate && profile.RateMbit > 0)
        {
            var offered = Math.Min(profile.RateMbit * 1.3e6, 300e6);
            rate = LinkProbe.MeasureRate(t.DataCentreNs, t.BranchNs, t.BranchAddress, offered, 1.5, ct).RateBitsPerSecond / 1e6;
        }

        var rtt = up.OneWayMedianMs + down.OneWayMedianMs;
        var deviations = new List<string>();
        var askedLoss = profile.EffectiveLossPercent;
        if (Math.Abs(rtt - profile.RttMs) > Math.Max(0.05 * profile.RttMs, 0.05))
        {
            deviations.Add($"RTT {rtt:0.000} ms vs asked {profile.RttMs} ms ({(rtt / profile.RttMs) - 1:+0.0%;-0.0%})");
        }

        foreach (var (dir, m) in new[] { ("up", up), ("down", down) })
        {
            var measured = m.LossFraction * 100;
            // Binomial noise on a few hundred probes is large; flag beyond 5% relative AND 3 standard errors.
            var se = Math.Sqrt(askedLoss / 100 * (1 - (askedLoss / 100)) / Math.Max(1, m.Sent)) * 100;
            if (Math.Abs(measured - askedLoss) > Math.Max(0.05 * askedLoss, 3 * se))
            {
                deviations.Add($"loss {dir} {measured:0.00}% vs asked {askedLoss:0.00}%");
            }
        }

        if (rate is { } measuredRate && Math.Abs(measuredRate - profile.RateMbit) > 0.05 * profile.RateMbit)
        {
            var capped = profile.RateMbit * 1.3e6 > 300e6 ? " (probe offered only 300 Mbit/s: probe/forwarder-limited)" : "";
            deviations.Add($"rate down {measuredRate:0.00} Mbit/s vs asked {profile.RateMbit} Mbit/s{capped}");
        }

        return new LinkCheck(profile.RttMs, Math.Round(rtt, 3), askedLoss, Math.Round(up.LossFraction * 100, 2), Math.Round(down.LossFraction * 100, 2),
            profile.RateMbit, rate is { } rr ? Math.Round(rr, 3) : null, Math.Round(Math.Max(t.Up.Lateness.MeanMs, t.Down.Lateness.MeanMs), 4),
            Math.Round(Math.Max(t.Up.Lateness.MaxMs, t.Down.Lateness.MaxMs), 3), deviations);
    }

    /// <summary>Topologies alive right now, for Ctrl-C/termination cleanup.</summary>
    public static readonly List<Topology> ActiveTopologies = [];
}
