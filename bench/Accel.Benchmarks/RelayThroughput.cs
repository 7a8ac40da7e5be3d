using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;
using Accel.Core.Transport;
using Accel.Core.Spice.Protocol;
using Accel.Core.Edges;
using Accel.Core.Transport.Tls;

namespace Accel.Benchmarks;

/// <summary>
/// Both edges in this process over loopback (ngtcp2), one display channel between a minimal SPICE server (link phase,
/// SET_ACK, then display-sized draw messages) and a minimal client (link phase, ACK_SYNC and ACKs). Reports the rate
/// and the process's CPU seconds per relayed GB; the two endpoints only send from one buffer and read into one, so
/// nearly all of it is the edges'.
/// </summary>
internal static class RelayThroughput
{
    private const int AckWindow = 20;

    public static async Task<int> RunAsync(string[] args)
    {
        var bytes = TransportThroughput.ParseSize(TransportThroughput.Option(args, "--bytes") ?? "1G");
        var messageSize = (int)TransportThroughput.ParseSize(TransportThroughput.Option(args, "--message") ?? "64K");
        var engine = TransportEngines.Resolve(TransportThroughput.Option(args, "--engine") ?? "ngtcp2");
        if (!engine.IsSupported)
        {
            throw new PlatformNotSupportedException(engine.UnsupportedReason);
        }

        using var stop = new CancellationTokenSource();
        using var spice = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        spice.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        spice.Listen(4);
        var spicePort = ((IPEndPoint)spice.LocalEndPoint!).Port;
        var count = bytes / messageSize;
        var serverTask = FakeServerAsync(spice, messageSize, count, stop.Token);

        var serverId = EndpointIdentities.CreateSelfSigned("server");
        var clientId = EndpointIdentities.CreateSelfSigned("client");
        await using var listener = await engine.ListenAsync(new TransportListenerOptions
        {
            ListenEndPoint = new IPEndPoint(IPAddress.Loopback, 0),
            Identity = serverId,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(clientId.CertificatePem)] },
        });
        var relay = TransportThroughput.Option(args, "--budget") == "off"
            ? SpiceRelaySettings.Default with { DisplayBudget = Accel.Core.Spice.Display.DisplayBudgetSettings.Default with { Enabled = false } }
            : SpiceRelaySettings.Default;
        var serverEdge = new ServerEdge(listener, new ServerEdgeSettings { AllowList = new AllowList([$"127.0.0.1/32:{spicePort}"]), Relay = relay });
        var serverLoop = serverEdge.RunAsync(stop.Token);
        var target = new ServerEdgeTarget("dc", listener.LocalEndPoint, new PeerTrust { PinnedSpkiSha256 = [EndpointIdentities.ComputeSpkiSha256(serverId.CertificatePem)] });
        await using var clientEdge = new ClientEdge(engine, new ClientEdgeSettings
        {
            Identity = clientId,
            ServerEdges = new Dictionary<string, ServerEdgeTarget> { ["dc"] = target },
            ClientOptions = t => new TransportClientOptions { RemoteEndPoint = t.Address, Identity = clientId, PeerTrust = t.Trust },
        });

        using var front = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        front.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        front.Listen(4);
        var frontTask = ServeOneAsync(front, clientEdge, spicePort, stop.Token);

        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await client.ConnectAsync(front.LocalEndPoint!);
        await ClientLinkAsync(client);

        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated0 = GC.GetTotalAllocatedBytes(true);
        var gc0 = GC.CollectionCount(0);
        var watch = Stopwatch.StartNew();
        var received = await ClientReceiveAsync(client, count);
        watch.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(true) - allocated0;
        var gcs = GC.CollectionCount(0) - gc0;

        var gb = received / 1e9;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"relay {engine.Name}: {received} bytes in {count} messages of {messageSize} B, {watch.Elapsed.TotalSeconds:F2} s, {received * 8 / watch.Elapsed.TotalSeconds / 1e9:F2} Gbit/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"edges CPU: {cpu / gb:F2} CPU-s/GB (both edges and the two endpoints, one process); allocations {allocated / (double)count:F1} B/message, {gcs} gen0 GCs"));

        await stop.CancelAsync();
        client.Dispose();
        await Task.WhenAll(serverTask, frontTask).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(static _ => { }, TaskScheduler.Default);
        await serverLoop.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(static _ => { }, TaskScheduler.Default);
        return 0;
    }

    private static async Task ServeOneAsync(Socket front, ClientEdge edge, int spicePort, CancellationToken token)
    {
        using var socket = await front.AcceptAsync(token);
        socket.NoDelay = true;
        await edge.HandleAsync(socket, "dc", "127.0.0.1", (ushort)spicePort, token);
    }

    private static async Task ClientLinkAsync(Socket client)
    {
        var mess = new SpiceLinkMess(0, SpiceChannelType.Display, 0, SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader), SpiceCapabilitySet.Empty);
        var writer = new ArrayBufferWriter<byte>();
        mess.WriteTo(writer);
        await client.SendAsync(writer.WrittenMemory);
        var reply = await ReadExactlyAsync(client, SpiceLinkHeader.Length);
        await ReadExactlyAsync(client, (int)BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(12)));
        var auth = new byte[4 + 128];
        BinaryPrimitives.WriteUInt32LittleEndian(auth, (uint)SpiceCommonCap.AuthSpice);
        await client.SendAsync(auth);
        await ReadExactlyAsync(client, 4);
    }

    private static async Task<long> ClientReceiveAsync(Socket client, long count)
    {
        var buffer = new byte[256 * 1024];
        var ack = new byte[6];
        BinaryPrimitives.WriteUInt16LittleEndian(ack, (ushort)SpiceMsgc.Ack);
        long received = 0;
        long messages = 0;
        long bodyLeft = 0;
        var header = new byte[6];
        var headerFill = 0;
        while (messages < count || bodyLeft > 0)
        {
            var n = await client.ReceiveAsync(buffer);
            if (n == 0)
            {
                throw new IOException("the client edge closed the channel");
            }

            received += n;
            var acks = Parse(buffer.AsSpan(0, n), header, ref headerFill, ref bodyLeft, ref messages);
            for (var i = 0; i < acks; i++)
            {
                await client.SendAsync(ack);
            }
        }

        return received;
    }

    /// <summary>Frames what arrived; returns how many ACKs the client owes.</summary>
    private static int Parse(ReadOnlySpan<byte> span, byte[] header, ref int headerFill, ref long bodyLeft, ref long messages)
    {
        var acks = 0;
        while (!span.IsEmpty)
        {
            if (bodyLeft > 0)
            {
                var take = (int)Math.Min(bodyLeft, span.Length);
                span = span[take..];
                bodyLeft -= take;
                continue;
            }

            var h = Math.Min(6 - headerFill, span.Length);
            span[..h].CopyTo(header.AsSpan(headerFill));
            headerFill += h;
            span = span[h..];
            if (headerFill < 6)
            {
                break;
            }

            headerFill = 0;
            var type = BinaryPrimitives.ReadUInt16LittleEndian(header);
            bodyLeft = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(2));
            if (type == (ushort)SpiceMsg.SetAck)
            {
                continue; // the client edge's own window: its ACKs end there
            }

            messages++;
            if (messages % AckWindow == 0)
            {
                acks++;
            }
        }

        return acks;
    }

    private static async Task FakeServerAsync(Socket listener, int messageSize, long count, CancellationToken token)
    {
        using var socket = await listener.AcceptAsync(token);
        socket.NoDelay = true;
        var head = await ReadExactlyAsync(socket, SpiceLinkHeader.Length);
        await ReadExactlyAsync(socket, (int)BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(12)));
        var writer = new ArrayBufferWriter<byte>();
        new SpiceLinkReply(SpiceLinkError.Ok, new byte[SpiceLinkReply.PublicKeyLength], SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader), SpiceCapabilitySet.Empty).WriteTo(writer);
        await socket.SendAsync(writer.WrittenMemory, token);
        await ReadExactlyAsync(socket, 4 + 128);
        await socket.SendAsync(new byte[4], token);

        // Drain the server edge's ACKs.
        var drain = Task.Run(
            async () =>
            {
                var sink = new byte[4096];
                while (await socket.ReceiveAsync(sink) > 0)
                {
                }
            },
            CancellationToken.None);

        var setAck = new byte[6 + 8];
        BinaryPrimitives.WriteUInt16LittleEndian(setAck, (ushort)SpiceMsg.SetAck);
        BinaryPrimitives.WriteUInt32LittleEndian(setAck.AsSpan(2), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(setAck.AsSpan(6), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(setAck.AsSpan(10), AckWindow);
        await socket.SendAsync(setAck, token);

        // 16 messages per send: a display-sized body each (DRAW_COPY type; content is not inspected with codecs off).
        const int Batch = 16;
        var frame = 6 + messageSize;
        var batch = new byte[frame * Batch];
        new Random(1).NextBytes(batch);
        for (var i = 0; i < Batch; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(batch.AsSpan(i * frame), (ushort)SpiceDisplayMsg.DrawCopy);
            BinaryPrimitives.WriteUInt32LittleEndian(batch.AsSpan((i * frame) + 2), (uint)messageSize);
        }

        for (var sent = 0L; sent < count; sent += Batch)
        {
            var n = (int)Math.Min(Batch, count - sent);
            await socket.SendAsync(batch.AsMemory(0, n * frame), token);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, token);
        }
        catch (OperationCanceledException)
        {
        }

        socket.Shutdown(SocketShutdown.Both);
        await drain.ContinueWith(static _ => { }, TaskScheduler.Default);
    }

    private static async Task<byte[]> ReadExactlyAsync(Socket socket, int length)
    {
        var buffer = new byte[length];
        var filled = 0;
        while (filled < length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(filled));
            if (n == 0)
            {
                throw new IOException("closed during the link phase");
            }

            filled += n;
        }

        return buffer;
    }
}
