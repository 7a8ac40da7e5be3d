using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Accel.Core.Diagnostics;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;
using Accel.Core.Transport.Ngtcp2;
using Accel.Edge.Hosting;

namespace Accel.Edge.Tests.Hosting;

/// <summary>Prometheus counters summed over QUIC connections keep what a closed connection had counted.</summary>
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
            var engine = new Ngtcp2Engine();
            Assert.True(engine.IsSupported, engine.UnsupportedReason);
            var server = EndpointIdentities.CreateSelfSigned("server", TimeSpan.FromDays(1));
            var client = EndpointIdentities.CreateSelfSigned("client", TimeSpan.FromDays(1));
            await using var listener = await engine.ListenAsync(new TransportListenerOptions
            {
                ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
                Identity = server,
                PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(client.CertificatePem)] },
            }, ct);
            var connecting = engine.ConnectAsync(new TransportClientOptions
            {
                RemoteEndPoint = listener.LocalEndPoint,
                Identity = client,
                PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(server.CertificatePem)] },
            }, ct);
            await using var accepted = await listener.AcceptAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            var connection = await connecting.AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            AccelMetrics.Track(connection, role);

            // 256 KiB across, read to the end on the other side.
            await using (var stream = await connection.OpenStreamAsync(StreamDirection.Bidirectional, StreamUrgency.Lowest, ct))
            {
                await stream.WriteAsync(new byte[256 * 1024], completeWrites: true, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
                await using var received = await accepted.AcceptStreamAsync(ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
                var buffer = new byte[64 * 1024];
                while (await received.ReadAsync(buffer, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct) > 0)
                {
                }
            }

            var open = await SentAsync(registry, role, ct);
            await connection.CloseAsync(0, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct);
            AccelMetrics.Untrack(connection);
            await connection.DisposeAsync();
            var closed = await SentAsync(registry, role, ct);

            Assert.True(open >= 256 * 1024, $"sent {open} while open");
            Assert.True(closed >= open, $"the counter went down from {open} to {closed} when the connection closed");
        }
    }

    private static async Task<double> SentAsync(Prometheus.CollectorRegistry registry, string role, CancellationToken ct)
    {
        using var text = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(text, ct);
        var m = Regex.Match(System.Text.Encoding.UTF8.GetString(text.ToArray()), $@"^spiceaccel_quic_sent_bytes_total\{{role=""{role}""\}} (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, "spiceaccel_quic_sent_bytes_total for " + role + " is not exported");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
    }
}
