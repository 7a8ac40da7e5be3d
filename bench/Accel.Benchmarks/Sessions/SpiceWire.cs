using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Accel.Core.Spice;
using Accel.Core.Spice.Protocol;
using Accel.Core.Spice.Protocol.Link;
using Accel.Core.Spice.Protocol.Messages;

namespace Accel.Benchmarks.Sessions;

/// <summary>
/// The few pieces of SPICE the session benchmark's stand-ins speak: the link phase from both sides (mini header, no
/// ticket check), mini-header framing, and the messages they send.
/// </summary>
internal static class SpiceWire
{
    public const int HeaderLength = 6;

    public const ushort KeyDown = 101;

    public static byte[] Message(ushort type, ReadOnlySpan<byte> body)
    {
        var m = new byte[HeaderLength + body.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(m, type);
        BinaryPrimitives.WriteUInt32LittleEndian(m.AsSpan(2), (uint)body.Length);
        body.CopyTo(m.AsSpan(HeaderLength));
        return m;
    }

    public static byte[] U32Message(ushort type, uint value)
    {
        Span<byte> body = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(body, value);
        return Message(type, body);
    }

    /// <summary>SET_ACK: generation and window, as spice-server sends it first on a display channel.</summary>
    public static byte[] SetAck(uint generation, uint window)
    {
        Span<byte> body = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(body, generation);
        BinaryPrimitives.WriteUInt32LittleEndian(body[4..], window);
        return Message((ushort)SpiceMsg.SetAck, body);
    }

    /// <summary>A NOTIFY whose <c>what</c> field carries <paramref name="key"/>: the stand-in server's echo of a key.</summary>
    public static byte[] Echo(uint key)
    {
        Span<byte> body = stackalloc byte[8 + 4 + 4 + 4 + 4 + 1];
        body.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(body[16..], key);
        return Message((ushort)SpiceMsg.Notify, body);
    }

    /// <summary>The client side of the link phase on <paramref name="socket"/> (already past any CONNECT).</summary>
    public static async Task LinkAsClientAsync(Socket socket, uint connectionId, SpiceChannelType type, CancellationToken token)
    {
        var mess = new SpiceLinkMess(connectionId, type, 0, SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader), SpiceCapabilitySet.Empty);
        var writer = new ArrayBufferWriter<byte>();
        mess.WriteTo(writer);
        await socket.SendAsync(writer.WrittenMemory, token);
        var head = await ReadExactlyAsync(socket, SpiceLinkHeader.Length, token);
        var reply = await ReadExactlyAsync(socket, (int)BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(12)), token);
        if (BinaryPrimitives.ReadUInt32LittleEndian(reply) != 0)
        {
            throw new IOException($"the link was refused (error {BinaryPrimitives.ReadUInt32LittleEndian(reply)})");
        }

        var auth = new byte[SpiceLinkAuth.AuthMechanismLength + SpiceLinkAuth.EncryptedTicketLength];
        BinaryPrimitives.WriteUInt32LittleEndian(auth, (uint)SpiceCommonCap.AuthSpice);
        await socket.SendAsync(auth, token);
        var result = await ReadExactlyAsync(socket, SpiceLinkAuth.LinkResultLength, token);
        if (BinaryPrimitives.ReadUInt32LittleEndian(result) != 0)
        {
            throw new IOException("the ticket was refused");
        }
    }

    /// <summary>The server side of the link phase; returns the channel type the client asked for.</summary>
    public static async Task<SpiceChannelType> LinkAsServerAsync(Socket socket, CancellationToken token)
    {
        var head = await ReadExactlyAsync(socket, SpiceLinkHeader.Length, token);
        var body = await ReadExactlyAsync(socket, (int)BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(12)), token);
        var type = (SpiceChannelType)body[4];
        var writer = new ArrayBufferWriter<byte>();
        new SpiceLinkReply(SpiceLinkError.Ok, new byte[SpiceLinkReply.PublicKeyLength], SpiceCapabilitySet.Of(SpiceCommonCap.ProtocolAuthSelection, SpiceCommonCap.MiniHeader), SpiceCapabilitySet.Empty).WriteTo(writer);
        await socket.SendAsync(writer.WrittenMemory, token);
        await ReadExactlyAsync(socket, SpiceLinkAuth.AuthMechanismLength + SpiceLinkAuth.EncryptedTicketLength, token);
        await socket.SendAsync(new byte[SpiceLinkAuth.LinkResultLength], token);
        return type;
    }

    /// <summary>An HTTP CONNECT through the client edge's proxy listener; throws unless it answers 200.</summary>
    public static async Task ConnectThroughProxyAsync(Socket socket, int backendPort, CancellationToken token)
    {
        await socket.SendAsync(Encoding.ASCII.GetBytes($"CONNECT 127.0.0.1:{backendPort} HTTP/1.1\r\nHost: 127.0.0.1:{backendPort}\r\n\r\n"), token);
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^1] != '\n' || head[^2] != '\r' || head[^3] != '\n' || head[^4] != '\r')
        {
            if (await socket.ReceiveAsync(one, token) == 0 || head.Count > 4096)
            {
                throw new IOException("the CONNECT proxy closed before its answer");
            }

            head.Add(one[0]);
        }

        var status = Encoding.ASCII.GetString([.. head]);
        if (!status.StartsWith("HTTP/1.1 200", StringComparison.Ordinal))
        {
            throw new IOException("the CONNECT proxy refused: " + status.Split('\r')[0]);
        }
    }

    public static async Task<byte[]> ReadExactlyAsync(Socket socket, int length, CancellationToken token)
    {
        var buffer = new byte[length];
        var filled = 0;
        while (filled < length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(filled), token);
            if (n == 0)
            {
                throw new IOException("closed during the link phase");
            }

            filled += n;
        }

        return buffer;
    }

    /// <summary>
    /// Frames mini-header messages out of a byte stream: feed it what a receive returned, it calls
    /// <paramref name="onMessage"/> with each whole message's type and body (bodies up to 64 KiB are handed over whole;
    /// larger ones are skipped and reported with an empty body).
    /// </summary>
    public sealed class Framer(Action<ushort, ReadOnlySpan<byte>> onMessage)
    {
        private readonly byte[] _header = new byte[HeaderLength];
        private readonly byte[] _body = new byte[64 * 1024];
        private int _headerFill;
        private long _bodyLeft = -1;
        private int _bodyFill;
        private ushort _type;
        private bool _skip;

        /// <summary>Feeds what <paramref name="socket"/> receives until it closes, fails or the token ends.</summary>
        public async Task FeedUntilClosedAsync(Socket socket, CancellationToken token)
        {
            var buffer = new byte[4096];
            try
            {
                int n;
                while ((n = await socket.ReceiveAsync(buffer, token)) > 0)
                {
                    Feed(buffer.AsSpan(0, n));
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }

        public void Feed(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                if (_bodyLeft < 0)
                {
                    var h = Math.Min(HeaderLength - _headerFill, data.Length);
                    data[..h].CopyTo(_header.AsSpan(_headerFill));
                    _headerFill += h;
                    data = data[h..];
                    if (_headerFill < HeaderLength)
                    {
                        return;
                    }

                    _headerFill = 0;
                    _type = BinaryPrimitives.ReadUInt16LittleEndian(_header);
                    _bodyLeft = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(2));
                    _bodyFill = 0;
                    _skip = _bodyLeft > _body.Length;
                }

                var take = (int)Math.Min(_bodyLeft, data.Length);
                if (!_skip)
                {
                    data[..take].CopyTo(_body.AsSpan(_bodyFill));
                }

                _bodyFill += take;
                _bodyLeft -= take;
                data = data[take..];
                if (_bodyLeft == 0)
                {
                    _bodyLeft = -1;
                    onMessage(_type, _skip ? default : _body.AsSpan(0, _bodyFill));
                }
            }
        }
    }
}
