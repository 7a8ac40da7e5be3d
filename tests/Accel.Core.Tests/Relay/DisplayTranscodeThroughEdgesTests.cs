using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Diagnostics;
using Accel.Core.Relay;
using Accel.Core.Spice.Display;
using Accel.Core.Tests.Spice;
using Accel.Core.Tests.Spice.Display;
using Accel.Core.Transport;
using Accel.Core.Edges;
using Accel.Core.Transport.Tls;
using Accel.Core.Tests.TestSupport;

namespace Accel.Core.Tests.Relay;

/// <summary>One Xspice showing an xterm and xlogo, shared by the codec cases.</summary>
public sealed class DisplayDesktopFixture : IAsyncLifetime
{
    internal XspiceServer Xspice { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        Xspice = await XspiceServer.StartAsync(ct).WaitAsync(TimeSpan.FromSeconds(60), ct);
        _directory = Directory.CreateTempSubdirectory("display-desktop-").FullName;
        var listed = Path.Combine(_directory, "listed");
        _photo = PhotoXwd.Write(320, 240);

        // Static content only (no clock), each client waited for by a real signal: its window mapped, and the
        // terminal's output written in full (the shell touches a file after ls). Then the desktop is captured until
        // two captures in a row agree, which also covers xterm rendering its last lines.
        Xspice.StartClient("xterm", "-T", "desktop-xterm", "-geometry", "80x30+0+0", "-hold", "-e", "sh", "-c", "ls -l /usr/bin; : > \"$0\"", listed);
        Xspice.StartClient("xlogo", "-geometry", "300x300+560+40");
        Xspice.StartClient("xwud", "-in", _photo, "-geometry", "+20+480");
        await Xspice.WaitForWindowAsync("desktop-xterm", ct);
        await Xspice.WaitForWindowAsync("xlogo", ct);
        await Xspice.WaitForWindowAsync("xwud: photo", ct);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(listed))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the xterm's ls did not finish within 30 s");
            await Task.Delay(20, ct);
        }

        Stable = await StableCaptureAsync(Xspice.Port, ct);
    }

    /// <summary>A direct capture of the settled desktop.</summary>
    internal Screenshots.Image Stable { get; private set; } = null!;

    private string? _photo;
    private string? _directory;

    /// <summary>Direct captures until two in a row are equal (the X clients have finished drawing), for at most 60 s.</summary>
    internal static async Task<Screenshots.Image> StableCaptureAsync(int port, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var previous = await Screenshots.CaptureAsync(port, ct);
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            var next = await Screenshots.CaptureAsync(port, ct);
            if (next.Rgb.AsSpan().SequenceEqual(previous.Rgb))
            {
                return next;
            }

            previous = next;
        }

        throw new InvalidOperationException("The desktop did not settle within 60 s.");
    }

    public async ValueTask DisposeAsync()
    {
        if (Xspice is not null)
        {
            await Xspice.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }

        if (_photo is not null)
        {
            File.Delete(_photo);
        }

        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}

/// <summary>
/// spice-gtk's spicy-screenshot through an edge pair whose server edge re-encodes display images: the capture must equal
/// a direct capture of the same Xspice (lossless codecs) or come within PSNR 38 dB of it (JPEG).
/// </summary>
[Collection(DisplayMetricsCollection.Name)]
public sealed class DisplayTranscodeThroughEdgesTests(DisplayDesktopFixture fixture) : IClassFixture<DisplayDesktopFixture>
{
    [Theory]
    [InlineData(DisplayCodec.Quic)]
    [InlineData(DisplayCodec.Lz)]
    [InlineData(DisplayCodec.Lz4)]
    [InlineData(DisplayCodec.Glz)]
    [InlineData(DisplayCodec.Auto)]
    [InlineData(DisplayCodec.Jpeg)]
    public async Task SpicyScreenshot_ServerEdgeReencoding_MatchesDirectCapture(DisplayCodec codec)
    {
        var ct = TestContext.Current.CancellationToken;
        var xspice = fixture.Xspice;
        var direct = await DisplayDesktopFixture.StableCaptureAsync(xspice.Port, ct);

        using var metrics = new DisplayMetricsRecorder();
        await using var pair = await EdgePair.StartAsync(xspice.Port, new SpiceRelaySettings { DisplayCodec = codec, DisplayKeepSmallerOriginal = false }, ct);
        var viaEdges = await Screenshots.CaptureAsync(pair.EndPoint.Port, ct);
        var directAfter = await Screenshots.CaptureAsync(xspice.Port, ct);

        var figures = metrics.Figures();

        TestContext.Current.TestOutputHelper?.WriteLine($"{codec}: {figures}");
        Assert.True(metrics.Reencoded > 0, $"nothing was re-encoded ({figures})");
        Assert.Equal(direct.Width, viaEdges.Width);
        Assert.Equal(direct.Height, viaEdges.Height);
        if (codec == DisplayCodec.Jpeg)
        {
            var psnr = Math.Max(Screenshots.Psnr(direct.Rgb, viaEdges.Rgb), Screenshots.Psnr(directAfter.Rgb, viaEdges.Rgb));
            TestContext.Current.TestOutputHelper?.WriteLine($"PSNR {psnr:F1} dB");
            Assert.True(psnr >= 38, $"PSNR {psnr:F1} dB");
        }
        else
        {
            Assert.True(direct.Rgb.AsSpan().SequenceEqual(viaEdges.Rgb) || directAfter.Rgb.AsSpan().SequenceEqual(viaEdges.Rgb),
                $"{Screenshots.Differences(direct.Rgb, viaEdges.Rgb)} bytes differ from the direct capture");
        }
    }
}

/// <summary>Collects the spiceaccel.display.* counters by codec label.</summary>
internal sealed class DisplayMetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _images = [];
    private readonly Dictionary<string, long> _bytesIn = [];
    private readonly Dictionary<string, long> _bytesOut = [];

    public DisplayMetricsRecorder()
    {
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AccelMetrics.MeterName && instrument.Name.StartsWith("spiceaccel.display.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var label = string.Empty;
            foreach (var tag in tags)
            {
                label = tag.Value?.ToString() ?? string.Empty;
            }

            var target = instrument.Name switch
            {
                "spiceaccel.display.images" => _images,
                "spiceaccel.display.bytes_in" => _bytesIn,
                _ => _bytesOut,
            };
            lock (_gate)
            {
                target[label] = target.GetValueOrDefault(label) + value;
            }
        });
        _listener.Start();
    }

    /// <summary>Images re-encoded (not kept as the original).</summary>
    public long Reencoded
    {
        get
        {
            lock (_gate)
            {
                return _images.Where(i => i.Key != "kept").Sum(i => i.Value);
            }
        }
    }

    public string Figures()
    {
        lock (_gate)
        {
            return string.Join("; ", _images.Select(i => $"{i.Key}: {i.Value} images, {_bytesIn.GetValueOrDefault(i.Key)} B in, {_bytesOut.GetValueOrDefault(i.Key)} B out"));
        }
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>spicy-screenshot captures as PPM pixels.</summary>
internal static class Screenshots
{
    internal sealed record Image(int Width, int Height, byte[] Rgb);

    public static async Task<Image> CaptureAsync(int port, CancellationToken ct)
    {
        var directory = Directory.CreateTempSubdirectory("spicy-shot-");
        try
        {
            var shot = Path.Combine(directory.FullName, "shot.ppm");
            var start = new ProcessStartInfo("spicy-screenshot") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-o", shot })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment.Remove("DISPLAY");
            using var client = Process.Start(start)!;
            var stderr = client.StandardError.ReadToEndAsync(ct);
            var stdout = client.StandardOutput.ReadToEndAsync(ct);
            try
            {
                await client.WaitForExitAsync(ct).WaitAsync(TimeSpan.FromSeconds(30), ct);
            }
            finally
            {
                if (!client.HasExited)
                {
                    client.Kill(entireProcessTree: true);
                }
            }

            var log = await stderr.WaitAsync(TimeSpan.FromSeconds(5), ct) + await stdout.WaitAsync(TimeSpan.FromSeconds(5), ct);
            Assert.True(client.ExitCode == 0, $"spicy-screenshot exited {client.ExitCode}: {log}");
            return ReadPpm(await File.ReadAllBytesAsync(shot, ct).WaitAsync(TimeSpan.FromSeconds(10), ct));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Binary PPM (P6, maxval 255) without comments, as spicy-screenshot writes it.</summary>
    public static Image ReadPpm(byte[] file)
    {
        int position = 0;
        string Token()
        {
            while (char.IsWhiteSpace((char)file[position]))
            {
                position++;
            }

            int start = position;
            while (!char.IsWhiteSpace((char)file[position]))
            {
                position++;
            }

            return System.Text.Encoding.ASCII.GetString(file, start, position - start);
        }

        Assert.Equal("P6", Token());
        int width = int.Parse(Token(), CultureInfo.InvariantCulture);
        int height = int.Parse(Token(), CultureInfo.InvariantCulture);
        Assert.Equal("255", Token());
        position++;
        Assert.Equal(width * height * 3, file.Length - position);
        return new Image(width, height, file[position..]);
    }

    public static double Psnr(byte[] a, byte[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            sum += d * d;
        }

        return sum == 0 ? 99 : 10 * Math.Log10(255.0 * 255.0 / (sum / a.Length));
    }

    public static int Differences(byte[] a, byte[] b)
    {
        int n = 0;
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            n += a[i] != b[i] ? 1 : 0;
        }

        return n;
    }
}

/// <summary>
/// A server edge (with the given relay settings) and a client edge in this process, in front of one backend port; with a
/// link delay the edges talk through a <see cref="UdpOutageRelay"/> that holds each packet that long each way.
/// </summary>
internal sealed class EdgePair : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private ITransportListener _listener = null!;
    private ClientEdge _clientEdge = null!;
    private Socket _accept = null!;
    private Task _serverLoop = Task.CompletedTask;
    private Task _acceptLoop = Task.CompletedTask;
    private int _backendPort;
    private UdpOutageRelay? _link;

    public IPEndPoint EndPoint { get; private set; } = null!;

    public static async Task<EdgePair> StartAsync(int backendPort, SpiceRelaySettings serverRelay, CancellationToken ct, TimeSpan linkDelay = default)
    {
        var serverEngine = EdgePairFixture.Engine("E2E_SERVER_ENGINE");
        var engine = EdgePairFixture.Engine("E2E_CLIENT_ENGINE");
        var pair = new EdgePair { _backendPort = backendPort };
        var server = EndpointIdentities.CreateSelfSigned("server");
        var client = EndpointIdentities.CreateSelfSigned("client");
        pair._listener = await serverEngine.ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = server,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(client.CertificatePem)] },
        }, ct).AsTask().WaitAsync(TimeSpan.FromSeconds(10), ct);
        var serverEdge = new ServerEdge(pair._listener, new ServerEdgeSettings { AllowList = new AllowList([$"127.0.0.1/32:{backendPort}"]), Relay = serverRelay });
        pair._serverLoop = serverEdge.RunAsync(pair._stop.Token);

        pair._link = linkDelay > TimeSpan.Zero ? new UdpOutageRelay(pair._listener.LocalEndPoint, linkDelay) : null;
        var target = new ServerEdgeTarget("dc", pair._link?.EndPoint ?? pair._listener.LocalEndPoint, new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(server.CertificatePem)] });
        pair._clientEdge = new ClientEdge(engine, new ClientEdgeSettings
        {
            Identity = client,
            ServerEdges = new Dictionary<string, ServerEdgeTarget> { ["dc"] = target },
            ClientOptions = t => new TransportClientOptions { RemoteEndPoint = t.Address, Identity = client, PeerTrust = t.Trust },
        });

        pair._accept = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        pair._accept.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        pair._accept.Listen(64);
        pair.EndPoint = (IPEndPoint)pair._accept.LocalEndPoint!;
        pair._acceptLoop = pair.AcceptLoopAsync();
        return pair;
    }

    private async Task AcceptLoopAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                var socket = await _accept.AcceptAsync(_stop.Token);
                socket.NoDelay = true;
                sessions.Add(ServeAsync(socket));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(sessions);
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            await _clientEdge.HandleAsync(socket, "dc", "127.0.0.1", (ushort)_backendPort, _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _accept.Dispose();
        await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(20));
        await _clientEdge.DisposeAsync();
        await _serverLoop.WaitAsync(TimeSpan.FromSeconds(20));
        await _listener.DisposeAsync();
        if (_link is not null)
        {
            await _link.DisposeAsync();
        }

        _stop.Dispose();
    }
}
