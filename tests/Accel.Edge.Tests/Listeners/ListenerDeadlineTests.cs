using System.Net;
using System.Net.Sockets;
using System.Text;
using Accel.Core.Edges;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;
using Accel.Edge.Listeners;
using Microsoft.Extensions.Logging.Abstractions;

namespace Accel.Edge.Tests.Listeners;

/// <summary>The client edge's deadlines on its local listeners (Limits:ConnectHeadTimeout, Limits:LinkTimeout), over real sockets.</summary>
public sealed class ListenerDeadlineTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ConnectHeadTimeout_HeadNeverFinished_Answers408AndCloses()
    {
        await using var edge = NewEdge(TimeSpan.FromSeconds(10));
        var listener = new ConnectProxyListener(new IPEndPoint(IPAddress.Loopback, 0), edge, "dc", TimeSpan.FromSeconds(1), NullLogger.Instance);

        var answer = await ServeOneAsync(listener, "CONNECT 10.0.0.1:5900 HTTP/1.1\r\nHost: 10.0.0.1"u8.ToArray());

        Assert.StartsWith("HTTP/1.1 408 Request Timeout", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinkTimeout_ViewerThatNeverSendsItsLink_Closed()
    {
        await using var edge = NewEdge(TimeSpan.FromSeconds(1));
        var listener = new ExplicitListener(new IPEndPoint(IPAddress.Loopback, 0), edge, "dc", "10.0.0.1", 5900, NullLogger.Instance);

        // Half a link header, then silence: the edge closes without opening anything (there is no server edge to open to).
        var answer = await ServeOneAsync(listener, "RED"u8.ToArray());

        Assert.Equal(string.Empty, answer);
    }

    private static ClientEdge NewEdge(TimeSpan linkTimeout)
    {
        var identity = EndpointIdentities.CreateSelfSigned("client");
        return new ClientEdge(TransportEngines.Resolve("ngtcp2"), new ClientEdgeSettings
        {
            Identity = identity,
            ServerEdges = new Dictionary<string, ServerEdgeTarget>(),
            ClientOptions = t => new TransportClientOptions { RemoteEndPoint = t.Address, Identity = identity, PeerTrust = t.Trust },
            LinkTimeout = linkTimeout,
        });
    }

    /// <summary>Connects, sends <paramref name="first"/>, and reads until the listener closes; returns what it answered.</summary>
    private static async Task<string> ServeOneAsync(SpiceListener listener, byte[] first)
    {
        var ct = TestContext.Current.CancellationToken;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var socket = listener.Bind();
        var loop = listener.RunAsync(socket, stop.Token);
        try
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await client.ConnectAsync(listener.LocalEndPoint!, ct);
            await client.SendAsync(first, SocketFlags.None, ct);
            var received = new MemoryStream();
            var buffer = new byte[1024];
            int n;
            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, ct).AsTask().WaitAsync(Bounded, ct)) > 0)
            {
                received.Write(buffer, 0, n);
            }

            return Encoding.ASCII.GetString(received.ToArray());
        }
        finally
        {
            await stop.CancelAsync();
            socket.Dispose();
            await loop.WaitAsync(Bounded, ct);
        }
    }
}
