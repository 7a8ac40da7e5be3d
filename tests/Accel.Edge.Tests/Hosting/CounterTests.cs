using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Accel.Core.Diagnostics;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;
using Accel.Core.Transport.Ngtcp2;
using Accel.Edge.Hosting;

namespace Accel.Edge.Tests.Hosting;

/// <summary>Prometheus series of the QUIC connections: one per peer edge; counters keep what a closed connection had counted.</summary>
public sealed class CounterTests
{
    [Fact]
    public async Task QuicSentBytes_AfterTheConnectionCloses_NeverGoesDown()
    {
        var ct = TestContext.Current.CancellationToken;
        var role = "counter-test-" + Guid.NewGuid().ToString("N")[..6];
        var registry = MetricsExporter.CreateRegistry(out var adapter);
        using (adapter)
        {
            await using var pair = await ConnectionPair.StartAsync(ct);
            var connection = pair.Accepted[0];
            AccelMetrics.Track(connection, role);
            await pair.SendAsync(0, 256 * 1024, ct);

            var peer = AccelMetrics.PeerLabel(connection);
            var open = await SeriesAsync(registry, "spiceaccel_quic_sent_bytes_total", role, peer, ct);
            await connection.CloseAsync(0, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            AccelMetrics.Untrack(connection);
            await connection.DisposeAsync();
            var closed = await SeriesAsync(registry, "spiceaccel_quic_sent_bytes_total", role, peer, ct);

            Assert.True(open >= 256 * 1024, $"sent {open} while open");
            Assert.True(closed >= open, $"the counter went down from {open} to {closed} when the connection closed");
        }
    }

    /// <summary>
    /// Two peer edges on one listener: RTT, window and bytes are a series per peer (labelled by the peer's name, here a
    /// prefix of its pin), not one series per role; when one peer goes, its RTT series goes with it and its byte count stays.
    /// </summary>
    [Fact]
    public async Task QuicSeries_TwoPeers_OneSeriesEachAndAGonePeersGaugeIsRemoved()
    {
        var ct = TestContext.Current.CancellationToken;
        var role = "peer-test-" + Guid.NewGuid().ToString("N")[..6];
        var registry = MetricsExporter.CreateRegistry(out var adapter);
        using (adapter)
        {
            await using var pair = await ConnectionPair.StartAsync(ct, clients: 2);
            var (a, b) = (pair.Accepted[0], pair.Accepted[1]);
            AccelMetrics.Track(a, role);
            AccelMetrics.Track(b, role);
            await pair.SendAsync(0, 64 * 1024, ct);
            await pair.SendAsync(1, 128 * 1024, ct);
            string peerA = AccelMetrics.PeerLabel(a), peerB = AccelMetrics.PeerLabel(b);
            Assert.NotEqual(peerA, peerB);

            foreach (var name in new[] { "spiceaccel_quic_rtt_smoothed_seconds", "spiceaccel_quic_cwnd_bytes", "spiceaccel_quic_sent_bytes_total" })
            {
                Assert.True(await SeriesAsync(registry, name, role, peerA, ct) > 0, $"{name} of {peerA}");
                Assert.True(await SeriesAsync(registry, name, role, peerB, ct) > 0, $"{name} of {peerB}");
            }

            var sentA = await SeriesAsync(registry, "spiceaccel_quic_sent_bytes_total", role, peerA, ct);
            var sentB = await SeriesAsync(registry, "spiceaccel_quic_sent_bytes_total", role, peerB, ct);
            Assert.True(sentA >= 64 * 1024 && sentB >= 128 * 1024, $"sent {sentA} to {peerA}, {sentB} to {peerB}");

            await a.CloseAsync(0, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            AccelMetrics.Untrack(a);
            var text = await ExportAsync(registry, ct);
            Assert.DoesNotContain($"spiceaccel_quic_rtt_smoothed_seconds{{role=\"{role}\",peer=\"{peerA}\"}}", text, StringComparison.Ordinal);
            Assert.True(await SeriesAsync(registry, "spiceaccel_quic_rtt_smoothed_seconds", role, peerB, ct) > 0, "the remaining peer's RTT");
            Assert.True(await SeriesAsync(registry, "spiceaccel_quic_sent_bytes_total", role, peerA, ct) >= sentA, "the gone peer's byte count went down");
            AccelMetrics.Untrack(b);
        }
    }

    private static async Task<string> ExportAsync(Prometheus.CollectorRegistry registry, CancellationToken ct)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text, ct);
        return System.Text.Encoding.UTF8.GetString(text.ToArray());
    }

    private static async Task<double> SeriesAsync(Prometheus.CollectorRegistry registry, string name, string role, string peer, CancellationToken ct)
    {
        var series = $"{name}{{role=\"{role}\",peer=\"{peer}\"}}";
        var m = Regex.Match(await ExportAsync(registry, ct), "^" + Regex.Escape(series) + @" (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, series + " is not exported");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>An ngtcp2 listener and client connections to it, each client with its own key.</summary>
    private sealed class ConnectionPair : IAsyncDisposable
    {
        private ITransportListener _listener = null!;
        private readonly List<ITransportConnection> _clients = [];

        /// <summary>The listener's side of each connection: its peer is the client, whose key tells them apart.</summary>
        public List<ITransportConnection> Accepted { get; } = [];

        public static async Task<ConnectionPair> StartAsync(CancellationToken ct, int clients = 1)
        {
            var engine = new Ngtcp2Engine();
            Assert.True(engine.IsSupported, engine.UnsupportedReason);
            var server = EndpointIdentities.CreateSelfSigned("server", TimeSpan.FromDays(1));
            var identities = Enumerable.Range(0, clients).Select(i => EndpointIdentities.CreateSelfSigned("client" + i, TimeSpan.FromDays(1))).ToList();
            var pair = new ConnectionPair();
            pair._listener = await engine.ListenAsync(new TransportListenerOptions
            {
                ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Identity = server,
                PeerTrust = new PeerTrust { PinnedSpkiSha256 = [.. identities.Select(c => EndpointIdentities.ComputeSpkiSha256(c.CertificatePem))] },
            }, ct);
            foreach (var client in identities)
            {
                var connecting = engine.ConnectAsync(new TransportClientOptions
                {
                    RemoteEndPoint = pair._listener.LocalEndPoint,
                    Identity = client,
                    PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(server.CertificatePem)] },
                }, ct);
                pair.Accepted.Add(await pair._listener.AcceptAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct));
                pair._clients.Add(await connecting.AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct));
            }

            return pair;
        }

        /// <summary>Writes <paramref name="bytes"/> on a new stream from the listener's side of connection <paramref name="index"/>; the client reads them to the end.</summary>
        public async Task SendAsync(int index, int bytes, CancellationToken ct)
        {
            await using var stream = await Accepted[index].OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Lowest, ct);
            await stream.WriteAsync(new byte[bytes], completeWrites: true, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            await using var received = await _clients[index].AcceptStreamAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            var buffer = new byte[64 * 1024];
            while (await received.ReadAsync(buffer, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct) > 0)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var c in _clients.Concat(Accepted))
            {
                await c.DisposeAsync();
            }

            await _listener.DisposeAsync();
        }
    }
}
