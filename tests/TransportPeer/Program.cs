using System.Globalization;
using System.Net;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

// A transport server in its own process, for tests that need a peer they can kill.
// Usage: TransportPeer --engine ngtcp2 --trust-pin <hex> [--idle-ms 30000]
// Prints "LISTEN <port> <spki-sha256-hex>", then echoes every stream it accepts. Exits when stdin closes.
var engineName = "ngtcp2";
string? pin = null;
var idleMs = 30_000;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--engine":
            engineName = args[i + 1];
            break;
        case "--trust-pin":
            pin = args[i + 1];
            break;
        case "--idle-ms":
            idleMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            break;
    }
}

if (pin is null)
{
    Console.Error.WriteLine("--trust-pin is required");
    return 2;
}

var engine = TransportEngines.Resolve(engineName);
var identity = EndpointIdentities.CreateSelfSigned("transport-peer");
await using var listener = await engine.ListenAsync(new TransportListenerOptions
{
    ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
    Identity = identity,
    PeerTrust = new PeerTrust { PinnedSpkiSha256 = [Convert.FromHexString(pin)] },
    IdleTimeout = TimeSpan.FromMilliseconds(idleMs),
});
Console.WriteLine($"LISTEN {listener.LocalEndPoint.Port} {EndpointIdentities.ComputeSpkiSha256Hex(identity.CertificatePem)}");
Console.Out.Flush();

using var stop = new CancellationTokenSource();
_ = Task.Run(async () =>
{
    // The parent owns our lifetime: stdin closing (parent gone) ends the process.
    while (await Console.In.ReadLineAsync() is not null)
    {
    }

    await stop.CancelAsync();
});

try
{
    while (!stop.IsCancellationRequested)
    {
        var connection = await listener.AcceptAsync(stop.Token);
        _ = Task.Run(() => ServeAsync(connection, stop.Token), CancellationToken.None);
    }
}
catch (OperationCanceledException)
{
}

return 0;

static async Task ServeAsync(ITransportConnection connection, CancellationToken cancellationToken)
{
    await using (connection)
    {
        try
        {
            while (true)
            {
                var stream = await connection.AcceptStreamAsync(cancellationToken);
                _ = Task.Run(() => EchoAsync(stream, cancellationToken), CancellationToken.None);
            }
        }
        catch (Exception e) when (e is TransportException or OperationCanceledException)
        {
        }
    }
}

static async Task EchoAsync(ITransportStream stream, CancellationToken cancellationToken)
{
    await using (stream)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await stream.ReadAsync(buffer, cancellationToken);
                if (n == 0)
                {
                    if (stream.CanWrite)
                    {
                        stream.CompleteWrites();
                    }

                    return;
                }

                if (stream.CanWrite)
                {
                    await stream.WriteAsync(buffer.AsMemory(0, n), false, cancellationToken);
                }
            }
        }
        catch (Exception e) when (e is TransportException or OperationCanceledException)
        {
        }
    }
}
