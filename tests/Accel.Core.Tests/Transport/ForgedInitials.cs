using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Microsoft.Extensions.Logging.Abstractions;
using static Accel.Core.Transport.Ngtcp2.Native.Ngtcp2Native;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// Handshake floods for listener tests and the flood bench: real QUIC Initial packets (ngtcp2's client writes each: a valid ClientHello,
/// padded to 1200 bytes) sent from their own UDP source port, whose sender never answers, so the server keeps each
/// handshake half-open until its handshake timeout, as a spoofed-source flood does.
/// </summary>
internal static class ForgedInitials
{
    /// <summary>
    /// <paramref name="count"/> distinct first Initial datagrams of clients presenting <paramref name="identity"/>,
    /// each written by a real ngtcp2 client connection that is then torn down (never started).
    /// </summary>
    public static async Task<List<byte[]>> CreateAsync(IPEndPoint server, EndpointIdentity identity, int count)
    {
        var initials = new List<byte[]>(count);
        var datagram = new byte[1500];
        var options = new TransportClientOptions
        {
            RemoteEndPoint = server,
            Identity = identity,
            PeerTrust = new PeerTrust { PinnedSpkiSha256 = [new byte[32]] },
        };
        var loops = new Ngtcp2EventLoopGroup(1, NullLogger.Instance); // never started: no thread
        for (var i = 0; i < count; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            var connection = Ngtcp2Connection.CreateClient(options, new UdpEndpoint(socket, NullLogger.Instance), server, loops, NullLogger.Instance);
            try
            {
                var written = WriteFirstPacket(connection, datagram);
                if (written < 1200)
                {
                    throw new InvalidOperationException("ngtcp2 wrote no Initial: " + written);
                }

                initials.Add(datagram[..written]);
            }
            finally
            {
                // Never started: disposing tears the native state down at once and closes the socket.
                await connection.DisposeAsync();
            }
        }

        return initials;
    }

    /// <summary>Sends <paramref name="count"/> Initials, each from a fresh source port that is closed right after.</summary>
    public static async Task SendAsync(IPEndPoint server, EndpointIdentity identity, int count)
    {
        foreach (var initial in await CreateAsync(server, identity, count))
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            socket.SendTo(initial, SocketFlags.None, server);
        }
    }

    private static unsafe int WriteFirstPacket(Ngtcp2Connection connection, byte[] datagram)
    {
        fixed (byte* dest = datagram)
        {
            return (int)ngtcp2_conn_write_pkt_versioned(connection.Native.Conn, connection.Native.Path, NGTCP2_PKT_INFO_V1, null, dest, (nuint)datagram.Length, Ngtcp2Clock.Now());
        }
    }

    /// <summary>
    /// An Initial header (version 1) to <paramref name="dcid"/> (random when empty) carrying <paramref name="token"/>,
    /// padded to 1200 bytes; its payload is noise.
    /// </summary>
    public static byte[] WithToken(ReadOnlySpan<byte> token, ReadOnlySpan<byte> dcid = default)
    {
        var packet = new byte[1200];
        Random.Shared.NextBytes(packet);
        var at = 0;
        packet[at++] = 0xC0; // long header, fixed bit, type Initial, 1-byte packet number
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(at), 1);
        at += 4;
        packet[at++] = (byte)(dcid.IsEmpty ? 8 : dcid.Length);
        dcid.CopyTo(packet.AsSpan(at));
        at += dcid.IsEmpty ? 8 : dcid.Length;
        packet[at++] = 8; // SCID length; 8 random bytes follow
        at += 8;
        at += WriteVarint(packet.AsSpan(at), token.Length);
        token.CopyTo(packet.AsSpan(at));
        at += token.Length;
        var remaining = packet.Length - at - 2;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(at), (ushort)(0x4000 | remaining));
        return packet;
    }

    /// <summary>The Retry's source connection ID and token (RFC 9000 §17.2.5: the token runs to the 16-byte integrity tag).</summary>
    public static (byte[] Scid, byte[] Token) ParseRetry(ReadOnlySpan<byte> retry)
    {
        if ((retry[0] & 0xF0) != 0xF0)
        {
            throw new InvalidOperationException("not a Retry packet: first byte " + retry[0]);
        }

        var at = 5;
        at += 1 + retry[at];
        var scid = retry.Slice(at + 1, retry[at]).ToArray();
        at += 1 + retry[at];
        return (scid, retry[at..^16].ToArray());
    }

    private static int WriteVarint(Span<byte> dest, int value)
    {
        if (value < 64)
        {
            dest[0] = (byte)value;
            return 1;
        }

        BinaryPrimitives.WriteUInt16BigEndian(dest, (ushort)(0x4000 | value));
        return 2;
    }
}
