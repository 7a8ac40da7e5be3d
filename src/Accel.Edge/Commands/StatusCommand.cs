using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using Accel.Edge.Hosting;
using Accel.Edge.Options;
using Accel.Edge.Status;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel status: asks running edges (GET /status on their metrics listener) for peers and sessions.</summary>
internal static class StatusCommand
{
    private static readonly string[] s_defaultConfigs = ["/etc/spiceaccel/server.json", "/etc/spiceaccel/client.json"];

    public static Command Create()
    {
        var config = Cli.ConfigOption(required: false);
        config.Description = "read Metrics:Listen from this configuration (default: /etc/spiceaccel/server.json and client.json)";
        var url = new Option<string?>("--url") { Description = "the edge's metrics listener, e.g. http://127.0.0.1:9464", HelpName = "URL" };
        var json = new Option<bool>("--json") { Description = "print the JSON as the edge sends it" };
        var command = new Command("status", """
            show a running edge's peers and sessions, and whether it is ready

            Exit 0 when every edge asked is ready, 1 when one is not, 69 when one cannot be reached.
            """)
        {
            config, url, json,
        };
        command.SetAction((result, cancellationToken) => RunAsync(Targets(result.GetValue(url), result.GetValue(config)), result.GetValue(json), cancellationToken));
        return command;
    }

    private static List<Uri> Targets(string? url, string? config)
    {
        if (url is not null)
        {
            return Uri.TryCreate(url, UriKind.Absolute, out var u) ? [u] : throw new UsageException($"--url: '{url}' is not a URL");
        }

        var files = config is not null ? [config] : s_defaultConfigs.Where(File.Exists).ToArray();
        var targets = new List<Uri>();
        foreach (var file in files)
        {
            if (!EdgeConfiguration.TryReadJson(file, out var configuration, out var error))
            {
                throw new UsageException($"{error} (try `spiceaccel check --config {file}`)");
            }

            var listen = configuration["Metrics:Listen"] ?? new MetricsSection().Listen;
            if (Endpoints.TryParseHostPort(listen, out var host, out var port))
            {
                targets.Add(new Uri(Endpoints.LocalUrl(host, port) + "/"));
            }
        }

        return targets.Count > 0 ? targets : [new Uri("http://127.0.0.1:9464/")];
    }

    private static async Task<int> RunAsync(List<Uri> targets, bool json, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(15) };
        var exit = 0;
        foreach (var target in targets)
        {
            StatusReport? report;
            try
            {
                if (json)
                {
                    Console.Out.WriteLine(await http.GetStringAsync(new Uri(target, "status"), cancellationToken).ConfigureAwait(false));
                    continue;
                }

                report = await http.GetFromJsonAsync(new Uri(target, "status"), StatusJson.Default.StatusReport, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine($"spiceaccel status: no edge answers at {target} ({ex.Message})");
                exit = 69;
                continue;
            }

            Print(target, report!);
            exit = Math.Max(exit, report!.Ready ? 0 : 1);
        }

        return exit;
    }

    private static void Print(Uri target, StatusReport r)
    {
        var c = CultureInfo.InvariantCulture;
        var o = Console.Out;
        o.WriteLine($"{r.Role} edge {r.Version} ({r.Commit}) at {target}: {(r.Ready ? "ready" : "NOT READY: " + r.NotReadyReason)}");
        o.WriteLine($"  peers ({r.Peers.Count}):");
        foreach (var p in r.Peers)
        {
            var loss = p.PacketsLost is { } lost && p.PacketsSent > 0 ? string.Format(c, "{0:F2} %", 100.0 * lost / p.PacketsSent) : "n/a";
            o.WriteLine(string.Format(c, "    {0,-16} {1,-24} rtt {2,8} loss {3,8}  sent {4,10}  received {5,10}  up {6}",
                p.Name, p.Address, p.RttMs is { } rtt ? rtt.ToString("F1", c) + " ms" : "n/a", loss, Bytes(p.BytesSent), Bytes(p.BytesReceived), Age(p.ConnectedSeconds)));
        }

        o.WriteLine($"  sessions ({r.Sessions.Count}):");
        foreach (var s in r.Sessions)
        {
            o.WriteLine(string.Format(c, "    {0,-16} {1,-24} {2} channels ({3})  age {4}  to server {5}  to client {6}",
                s.Peer, s.Backend, s.Channels.Count, string.Join(",", s.Channels), Age(s.AgeSeconds), Bytes(s.BytesToServer), Bytes(s.BytesToClient)));
        }
    }

    private static string Bytes(long n) => n switch
    {
        >= 1L << 30 => string.Format(CultureInfo.InvariantCulture, "{0:F1} GiB", n / (double)(1L << 30)),
        >= 1L << 20 => string.Format(CultureInfo.InvariantCulture, "{0:F1} MiB", n / (double)(1L << 20)),
        >= 1L << 10 => string.Format(CultureInfo.InvariantCulture, "{0:F1} KiB", n / 1024.0),
        _ => n.ToString(CultureInfo.InvariantCulture) + " B",
    };

    private static string Age(double seconds) => TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 86400 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", CultureInfo.InvariantCulture);
}
