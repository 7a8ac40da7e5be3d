using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NetemBench;

/// <summary>
/// The connect timeline as spice-gtk sees it, read from <c>SPICE_DEBUG=1</c> output (GLib stamps each line with the
/// wall clock to the millisecond; debug lines go to stdout): the main channel's TCP connect (to the backend for plain
/// SPICE, to the local entry of an accelerator, whose own WAN connection may already be up), the reply to its link
/// message, the end of its link (ticket and result: spice-gtk says "channel up"), the display channel's link, the first
/// draw (the primary surface arrived: "Create primary canvas"), and the exit with the screen written (first complete
/// screen, after the display's MARK). Each figure is in ms from the client's start and also as a count of the
/// profile's round trips.
/// </summary>
public static partial class ConnectTimeline
{
    /// <summary>Phases in order: the Values key of each and the spice-gtk debug line that ends it.</summary>
    public static readonly (string Key, string Label, Regex Line)[] Phases =
    [
        ("tcpMs", "main TCP", MainConnected()),
        ("linkReplyMs", "main link reply", MainLinkReply()),
        ("linkMs", "main up", MainUp()),
        ("displayLinkMs", "display up", DisplayUp()),
        ("firstDrawMs", "first draw", DisplayPrimary()),
    ];

    /// <summary>The key of the first complete screen (the client's exit with the picture written).</summary>
    public const string ScreenKey = "screenMs";

    /// <summary>Adds the phases found in <paramref name="log"/> to <paramref name="values"/> (ms after <paramref name="start"/>).</summary>
    public static void Read(IEnumerable<string> log, TimeSpan start, Dictionary<string, double> values)
    {
        foreach (var line in log)
        {
            var m = Stamp().Match(line);
            if (!m.Success)
            {
                continue;
            }

            foreach (var (key, _, pattern) in Phases)
            {
                if (!values.ContainsKey(key) && pattern.IsMatch(line))
                {
                    var at = TimeSpan.ParseExact(m.Groups[1].Value, @"hh\:mm\:ss\.fff", CultureInfo.InvariantCulture);
                    var ms = (at - start).TotalMilliseconds;
                    values[key] = Math.Round(ms < -12 * 3600_000 ? ms + (24 * 3600_000) : ms, 0);
                }
            }
        }
    }

    /// <summary>A phase's time as round trips of the profile (null without an RTT).</summary>
    public static double? RoundTrips(double ms, double rttMs) => rttMs > 0 ? ms / rttMs : null;

    /// <summary>The connect rows of one profile as a timeline table (nothing when no connect row has one).</summary>
    public static void Table(StringBuilder sb, ProfileResult pr)
    {
        var rows = pr.Rows.Where(r => r.Workload == "connect" && r.Figures.ContainsKey(ScreenKey)).ToList();
        if (rows.Count == 0)
        {
            return;
        }

        var inv = CultureInfo.InvariantCulture;
        var rtt = pr.Profile.RttMs;
        sb.AppendLine(inv, $"Connect timeline (spice-gtk's debug stamps; ms from the client's start, mean of the runs, and in round trips of the profile's {rtt:0} ms RTT):").AppendLine();
        sb.Append("| contender |");
        foreach (var (_, label, _) in Phases)
        {
            sb.Append(inv, $" {label} |");
        }

        sb.AppendLine(" first complete screen |");
        sb.Append("|---|").Append(string.Concat(Enumerable.Repeat("---|", Phases.Length + 1))).AppendLine();
        foreach (var r in rows)
        {
            sb.Append(inv, $"| {r.Contender} |");
            foreach (var key in Phases.Select(p => p.Key).Append(ScreenKey))
            {
                sb.Append(r.Figures.TryGetValue(key, out var ms)
                    ? (RoundTrips(ms, rtt) is { } n ? string.Create(inv, $" {ms:0} ({n:0.0} RTT) |") : string.Create(inv, $" {ms:0} |"))
                    : " — |");
            }

            sb.AppendLine();
        }

        sb.AppendLine();
    }

    [GeneratedRegex(@"GSpice-DEBUG: (\d\d:\d\d:\d\d\.\d\d\d):")]
    private static partial Regex Stamp();

    [GeneratedRegex(@" main-\d+:0: connect ready")]
    private static partial Regex MainConnected();

    [GeneratedRegex(@" main-\d+:0: channel up")]
    private static partial Regex MainUp();

    [GeneratedRegex(@" display-\d+:0: channel up")]
    private static partial Regex DisplayUp();

    [GeneratedRegex(@" main-\d+:0: Peer version")]
    private static partial Regex MainLinkReply();

    [GeneratedRegex(@" display-\d+:0: Create primary canvas")]
    private static partial Regex DisplayPrimary();
}
