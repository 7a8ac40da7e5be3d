using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;

namespace Accel.Core.Tests.Relay;

public sealed class SocketLegTests
{
    [Fact]
    public async Task SocketLeg_LocalTcpLeg_KeepsLittleInTheKernel()
    {
        var (client, accepted) = await ConnectedAsync();
        using var _ = client;
        using var __ = accepted;

        var leg = new SocketLeg(accepted, null, default, SpiceRelaySettings.Default with { BufferSize = 4096 });

        Assert.True(accepted.NoDelay);
        Assert.InRange(accepted.SendBufferSize, SocketLeg.SendBufferBytes, 2 * SocketLeg.SendBufferBytes); // Linux reports it doubled
        var lowat = new byte[4];
        accepted.GetRawSocketOption((int)SocketOptionLevel.Tcp, 25, lowat);
        Assert.Equal(SocketLeg.NotSentLowWaterBytes, BitConverter.ToInt32(lowat));
        await leg.DisposeAsync();
    }

    [Fact]
    public async Task SocketLeg_Limits_SetKeepAliveAndTheWriteTimeoutOnTheSocket()
    {
        var (client, accepted) = await ConnectedAsync();
        using var _ = client;
        using var __ = accepted;
        var settings = SpiceRelaySettings.Default with { TcpKeepAlive = TimeSpan.FromSeconds(45), StallTimeout = TimeSpan.FromSeconds(7) };

        var leg = new SocketLeg(accepted, null, default, settings);

        // As the kernel reports them (getsockopt), not as we asked.
        Assert.Equal(1, (int)accepted.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal(45, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
        Assert.Equal(SocketLeg.KeepAliveIntervalSeconds, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval)!);
        Assert.Equal(SocketLeg.KeepAliveProbes, (int)accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount)!);
        var userTimeout = new byte[4];
        accepted.GetRawSocketOption((int)SocketOptionLevel.Tcp, 18, userTimeout);
        Assert.Equal(7000, BitConverter.ToInt32(userTimeout));
        await leg.DisposeAsync();
    }

    /// <summary>Both ends of a loopback TCP connection.</summary>
    private static async Task<(Socket Client, Socket Accepted)> ConnectedAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        return (client, await listener.AcceptAsync(TestContext.Current.CancellationToken));
    }
}
