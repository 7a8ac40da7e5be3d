using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;

namespace Accel.Edge.Hosting;

/// <summary>
/// The sd_notify protocol for Type=notify: READY=1 once every hosted service has started (listeners bound),
/// STOPPING=1 on shutdown. Speaks to $NOTIFY_SOCKET whenever it is set, so it also works for service managers
/// (and tests) that Microsoft.Extensions.Hosting.Systemd does not recognise as systemd.
/// </summary>
internal sealed class ServiceNotifier(IHostApplicationLifetime lifetime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(static () => Notify("READY=1\nSTATUS=running"));
        lifetime.ApplicationStopping.Register(static () => Notify("STOPPING=1"));
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    internal static bool Notify(string state)
    {
        var path = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path))
        {
            return false;
        }

        // "@name" is an abstract socket address.
        if (path[0] == '@')
        {
            path = "\0" + path[1..];
        }

        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.UTF8.GetBytes(state));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
