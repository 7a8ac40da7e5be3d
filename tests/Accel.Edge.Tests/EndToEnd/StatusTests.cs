using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.EndToEnd;

/// <summary>
/// /ready, /status and `spiceaccel status` against the running edges while remote-viewer holds a session, and a
/// client edge whose server edge cannot be reached.
/// </summary>
[Collection(SpiceLabCollection.Name)]
public sealed class StatusTests(SpiceLabFixture lab)
{
    private static readonly string s_metrics = $"http://127.0.0.1:{SpiceLabFixture.MetricsPort.ToString(CultureInfo.InvariantCulture)}/";

    [Fact]
    public async Task Status_DuringARemoteViewerSession_BothEdgesListThePeerAndTheSession()
    {
        var ct = TestContext.Current.CancellationToken;
        var backend = $"{lab.Lab.BackendIp}:{SpiceLabFixture.SpicePort}";
        var (xvfb, display) = await lab.Lab.StartXvfbAsync(lab.Lab.Branch, "1024x768x24", ct);
        Process? viewer = null;
        try
        {
            viewer = lab.Lab.Start(lab.Lab.Branch, "remote-viewer", [$"spice://127.0.0.1:{SpiceLabFixture.ExplicitPort}"], new Dictionary<string, string> { ["DISPLAY"] = display });

            // The client edge: the server edge "dc" as its peer, and remote-viewer's session with its display channel.
            JsonElement client = default;
            await Poll.UntilAsync(async () =>
            {
                client = await StatusAsync(lab.Lab.Branch);
                // remote-viewer opens its channels after main in no fixed order: wait for the three the test names.
                return SessionTo(client, backend) is { } s && Channels(s) is var c && c.Contains("display") && c.Contains("main") && c.Contains("inputs")
                    && s.GetProperty("bytes_to_client").GetInt64() > 0;
            }, TimeSpan.FromSeconds(60), "the client edge's /status never showed the session's main, display and inputs channels");

            Assert.Equal("client", client.GetProperty("role").GetString());
            Assert.True(client.GetProperty("ready").GetBoolean());
            var dc = Assert.Single(client.GetProperty("peers").EnumerateArray());
            Assert.Equal("dc", dc.GetProperty("name").GetString());
            Assert.Equal($"{lab.Lab.DcWanIp}:{SpiceLabFixture.EdgePort}", dc.GetProperty("address").GetString());
            Assert.True(dc.GetProperty("rtt_ms").GetDouble() > 0);
            var session = SessionTo(client, backend)!.Value;
            Assert.Equal("dc", session.GetProperty("peer").GetString());
            Assert.Contains("main", Channels(session));
            Assert.Contains("inputs", Channels(session));

            // The server edge: the client edge as a peer, named by its Server:ClientPins entry (the list form: "#0").
            var server = await StatusAsync(lab.Lab.Dc);
            Assert.Equal("server", server.GetProperty("role").GetString());
            Assert.Contains(server.GetProperty("peers").EnumerateArray(), p => p.GetProperty("name").GetString() == "#0");
            Assert.Contains("display", Channels(SessionTo(server, backend)!.Value));

            // The human form and the exit code operators script against.
            var text = await Shell.InNsAsync(lab.Lab.Branch, "dotnet", EdgeProcess.DllPath, "status", "--url", s_metrics);
            Assert.Contains("client edge", text, StringComparison.Ordinal);
            Assert.Contains(": ready", text, StringComparison.Ordinal);
            Assert.Matches(@"\n\s+dc\s+" + System.Text.RegularExpressions.Regex.Escape(backend) + @"\s+\d+ channels \(", text);

            // build_info and readiness on the same listener.
            var metrics = await Shell.InNsAsync(lab.Lab.Branch, "curl", "-sf", s_metrics + "metrics");
            Assert.Matches(@"spiceaccel_build_info\{version=""\d+\.\d+\.\d+"",commit=""[0-9a-f]{7,12}"",role=""client""\} 1", metrics);
            Assert.Equal("ready", (await Shell.InNsAsync(lab.Lab.Branch, "curl", "-sf", s_metrics + "ready")).Trim());

            // The process's standard series beside the edge's own.
            Assert.Matches(@"\nprocess_working_set_bytes [1-9][0-9.e+]*\n", metrics);
            Assert.Matches(@"\nprocess_num_threads [1-9]", metrics);
            Assert.Matches(@"\ndotnet_total_memory_bytes [1-9]", metrics);

            // Per-peer series, named as the configuration names the other edge.
            Assert.Matches(@"spiceaccel_quic_rtt_smoothed_seconds\{role=""client"",peer=""dc""\} [0-9.e-]+\n", metrics);
            var serverMetrics = await Shell.InNsAsync(lab.Lab.Dc, "curl", "-sf", s_metrics + "metrics");
            Assert.Matches(@"spiceaccel_quic_sent_bytes_total\{role=""server"",peer=""#0""\} [1-9]", serverMetrics);
        }
        finally
        {
            viewer?.Kill(entireProcessTree: true);
            xvfb.Kill(entireProcessTree: true);
        }

        Assert.False(ct.IsCancellationRequested);
    }

    [Fact]
    public async Task Ready_ClientEdgeWithUnreachableServerEdge_Is503AndStatusExitsOne()
    {
        const int Metrics = SpiceLabFixture.MetricsPort + 7;
        var config = lab.ClientConfig([lab.ServerPin], explicitPort: SpiceLabFixture.ExplicitPort + 20, allListeners: false)
            .Replace($":{SpiceLabFixture.EdgePort}\"", $":{SpiceLabFixture.EdgePort + 9}\"", StringComparison.Ordinal)
            .Replace("\"Metrics\":{\"Listen\":\"\"}", $"\"Metrics\":{{\"Listen\":\"127.0.0.1:{Metrics}\"}}", StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{Metrics}", config, StringComparison.Ordinal);
        lab.Write("unready-client.json", config);
        await using var edge = await EdgeProcess.StartAsync(lab.Lab, lab.Lab.Branch, "client edge without a server edge", "client", Path.Combine(lab.Dir, "unready-client.json"), TimeSpan.FromSeconds(60));
        var url = $"http://127.0.0.1:{Metrics}/";

        var code = await Shell.InNsAsync(lab.Lab.Branch, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url + "ready");
        var body = await Shell.RunAsync("ip", ["netns", "exec", lab.Lab.Branch, "curl", "-s", url + "ready"]);
        var status = await Shell.RunAsync("ip", ["netns", "exec", lab.Lab.Branch, "sh", "-c", $"dotnet {EdgeProcess.DllPath} status --url {url}; echo exit=$?"]);

        Assert.Equal("503", code);
        Assert.Equal("not ready: not connected to server edge dc", body.Trim());
        Assert.Contains("NOT READY: not connected to server edge dc", status, StringComparison.Ordinal);
        Assert.EndsWith("exit=1", status.Trim(), StringComparison.Ordinal);
    }

    private static async Task<JsonElement> StatusAsync(string ns)
    {
        var json = await Shell.InNsAsync(ns, "dotnet", EdgeProcess.DllPath, "status", "--url", s_metrics, "--json");
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }

    private static JsonElement? SessionTo(JsonElement status, string backend)
    {
        foreach (var s in status.GetProperty("sessions").EnumerateArray())
        {
            if (s.GetProperty("backend").GetString() == backend)
            {
                return s;
            }
        }

        return null;
    }

    private static List<string> Channels(JsonElement session)
        => [.. session.GetProperty("channels").EnumerateArray().Select(static c => c.GetString()!)];
}
