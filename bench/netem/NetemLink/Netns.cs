using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace NetemLink;

/// <summary>
/// Creates sockets inside a named network namespace: a fresh thread calls setns(2) (which affects only that thread),
/// creates the socket and exits. The socket stays in the namespace it was created in and is usable from any thread.
/// </summary>
public static class Netns
{
    public static Socket CreateSocket(string ns, AddressFamily family, SocketType type, ProtocolType protocol)
    {
        Socket? result = null;
        Exception? error = null;
        var t = new Thread(() =>
        {
            try
            {
                var fd = Native.Open("/var/run/netns/" + ns, Native.OCloexec);
                if (fd < 0)
                {
                    throw new IOException($"open netns {ns}: errno {Marshal.GetLastPInvokeError()}");
                }

                try
                {
                    if (Native.SetNs(fd, Native.CloneNewNet) != 0)
                    {
                        throw new IOException($"setns {ns}: errno {Marshal.GetLastPInvokeError()}");
                    }
                }
                finally
                {
                    Native.Close(fd);
                }

                result = new Socket(family, type, protocol);
            }
            catch (Exception ex)
            {
                error = ex;
            }
        });
        t.Start();
        t.Join();
        return result ?? throw new IOException("socket creation in namespace failed", error);
    }
}
