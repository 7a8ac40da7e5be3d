using NetemBench;

namespace Netem.Tests;

/// <summary>report.md from figures made up for the purpose (no run): what it says about the link and the display-load goals.</summary>
public sealed class ReportTests
{
    private static readonly Dictionary<string, string> s_machine = new() { ["cpus"] = "2" };

    [Fact]
    public void Markdown_RateNotProbed_SaysNotMeasuredAndDoesNotClaimTheLinkWithin5Percent()
    {
        var link = new LinkCheck(50, 50.2, 1, 1.1, 0.9, 10, null, 0.1, 2, []);

        var md = Report.Markdown("test", [new ProfileResult(Branch, link, [])], s_machine);

        Assert.Contains("| rate down (UDP at 130 % offered load) | 10 Mbit/s | not measured |", md, StringComparison.Ordinal);
        Assert.Contains("RTT and loss within 5 % of the profile; the rate was not measured.", md, StringComparison.Ordinal);
        Assert.DoesNotContain("Link within 5 % of the profile.", md, StringComparison.Ordinal);
        Assert.DoesNotContain("0.00 Mbit/s", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_RateProbed_SaysWithin5Percent()
    {
        var link = new LinkCheck(50, 50.2, 1, 1.1, 0.9, 10, 9.93, 0.1, 2, []);

        var md = Report.Markdown("test", [new ProfileResult(Branch, link, [])], s_machine);

        Assert.Contains("| 10 Mbit/s | 9.93 Mbit/s |", md, StringComparison.Ordinal);
        Assert.Contains("Link within 5 % of the profile.", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Markdown_Flood_TableAndGoalsCountKeysWithoutEchoAndBytes()
    {
        var plain = Row("plain", "flood", Enumerable.Repeat(200.0, 60), noEcho: 0, wanBytes: 4_000_000);
        // A longer run with fewer bytes: per second 3 MB / 30 s = 0.5 × plain's 4 MB / 20 s.
        var fast = Row("spiceaccel", "flood", Enumerable.Repeat(60.0, 59).Append(90), noEcho: 0, wanBytes: 3_000_000, seconds: 30);
        var lossy = Row("kcptun", "flood", Enumerable.Repeat(60.0, 58), noEcho: 2, wanBytes: 5_000_000);

        var md = Report.Markdown("test", [new ProfileResult(Branch, null, [plain, fast, lossy])], s_machine);

        Assert.Contains("| flood | spiceaccel | 60 | 60 | 90 | 90 | 0 of 60 | 0.45 | 2930 | 98 | 0.50 |", md, StringComparison.Ordinal);
        Assert.Contains("| flood | kcptun | 60 | 60 | 60 | 60 | 2 of 60 |", md, StringComparison.Ordinal);
        Assert.Contains("spiceaccel: flood key-to-echo p99 90 ms ≤ RTT + 100 = 150 ms: met", md, StringComparison.Ordinal);
        Assert.Contains("spiceaccel: flood key-to-echo p99 90 ms ≤ 0.5 × plain's 200 ms: met", md, StringComparison.Ordinal);
        Assert.Contains("spiceaccel: flood keys without echo 0 of 60 = 0: met", md, StringComparison.Ordinal);
        Assert.Contains("spiceaccel: flood WAN bytes per second 0.50 × plain ≤ 1: met (per run 0.75 ×)", md, StringComparison.Ordinal);
        // Two of 60 keys lost: the p99 is not finite, whatever the others did.
        Assert.Contains("kcptun: flood key-to-echo p99 ∞ (over 1 % of keys without echo) ≤ RTT + 100 = 150 ms: NOT met", md, StringComparison.Ordinal);
        Assert.Contains("kcptun: flood keys without echo 2 of 60 = 0: NOT met", md, StringComparison.Ordinal);
        Assert.Contains("kcptun: flood WAN bytes per second 1.25 × plain ≤ 1: NOT met (per run 1.25 ×); kcptun compresses", md, StringComparison.Ordinal);
    }

    [Fact]
    public void EchoP99_OneLostKeyInHundred_StaysFinite()
    {
        var row = Row("spiceaccel", "mixed", Enumerable.Range(1, 99).Select(i => (double)i), noEcho: 1, wanBytes: 1);

        Assert.Equal(99, Report.EchoP99(row));
        Assert.True(double.IsPositiveInfinity(Report.EchoP99(row with { KeysWithoutEcho = 2 })));
    }

    [Fact]
    public void Markdown_Outage_TablePerScenarioAndContender_NotInTheSessionTable()
    {
        var figures = new Dictionary<string, double>
        {
            ["outage5s.survived"] = 1, ["outage5s.keysTyped"] = 21, ["outage5s.keysExact"] = 1, ["outage5s.recoveryMs"] = 135.4,
            ["outage120s.survived"] = 0, ["outage120s.keysTyped"] = 218, ["outage120s.keysExact"] = 0, ["outage120s.recoveryMs"] = double.NaN,
            ["routeChange.survived"] = 1, ["routeChange.keysTyped"] = 12, ["routeChange.keysExact"] = 1, ["routeChange.recoveryMs"] = 369,
            ["addressChange.survived"] = 1, ["addressChange.keysTyped"] = 12, ["addressChange.keysExact"] = 1, ["addressChange.recoveryMs"] = 55,
        };
        var row = new ResultRow("branch", "spiceaccel", "outage", "ok", 1, 1, 60, 60, 60, 60, 1000, 3000, [], []) { Figures = figures };

        var md = Report.Markdown("test", [new ProfileResult(Branch, null, [row])], s_machine);

        Assert.Contains("| outage 5 s | spiceaccel | yes | 21 | yes | 135 |", md, StringComparison.Ordinal);
        Assert.Contains("| outage 120 s | spiceaccel | no | 218 | no | none |", md, StringComparison.Ordinal);
        Assert.Contains("| address change | spiceaccel | yes | 12 | yes | 55 |", md, StringComparison.Ordinal);
        Assert.Contains("| route change | spiceaccel | yes | 12 | yes | 369 |", md, StringComparison.Ordinal);
        Assert.True(md.IndexOf("| outage 5 s", StringComparison.Ordinal) < md.IndexOf("| outage 120 s", StringComparison.Ordinal), "scenarios by length, the address change last");
        Assert.True(md.IndexOf("| outage 120 s", StringComparison.Ordinal) < md.IndexOf("| address change", StringComparison.Ordinal), "scenarios by length, the address change last");
        Assert.True(md.IndexOf("| address change", StringComparison.Ordinal) < md.IndexOf("| route change", StringComparison.Ordinal), "the route change after the address change");
        Assert.DoesNotContain("In-session workloads", md, StringComparison.Ordinal);
    }

    [Fact]
    public void OutageKeys_EveryKeyOfTheCycleHasItsOwnScancode_AndADifferenceIsDescribed()
    {
        const string Cycle = "qwertyuiopasdfghjklzxcvbnm1234567890";
        var codes = Cycle.Select(NetemBench.Probe.OutageWorkload.Scancode).ToList();

        Assert.Equal(Cycle.Length, codes.Distinct().Count());
        Assert.Equal(0x10u, codes[0]); // q
        Assert.Equal(0x2Du, NetemBench.Probe.OutageWorkload.Scancode('x')); // the probe's x
        Assert.Equal(0x0Bu, NetemBench.Probe.OutageWorkload.Scancode('0'));
        Assert.Throws<ArgumentOutOfRangeException>(() => NetemBench.Probe.OutageWorkload.Scancode('!'));
        Assert.Equal("4 of 5 characters, first difference at 2", NetemBench.Probe.OutageWorkload.Describe("qwr\n", "qwer\n"));
    }

    private static Profile Branch => new() { Name = "branch", Description = "test", RttMs = 50, LossPercent = 1, RateMbit = 10 };

    private static ResultRow Row(string contender, string workload, IEnumerable<double> echoes, int noEcho, double wanBytes, double seconds = 20)
    {
        var samples = echoes.ToList();
        return new ResultRow("branch", contender, workload, "ok", 1, 1, seconds, seconds, seconds, seconds, wanBytes / 4, wanBytes * 3 / 4, [], [])
        {
            Keys = samples.Count + noEcho,
            KeysWithoutEcho = noEcho,
            Distributions = new() { ["keyEchoMs"] = Stats.Of(samples) },
            Samples = new() { ["keyEchoMs"] = samples },
        };
    }
}
