using System.Runtime.InteropServices;
using System.Text;

namespace NetemLink;

/// <summary>
/// A TUN device (IFF_TUN | IFF_NO_PI: raw IP packets) opened on /dev/net/tun. The fd keeps working after the
/// interface is moved into another network namespace, so one process can hold both ends of the emulated link.
/// The device is not persistent: it disappears when the fd is closed.
/// </summary>
public sealed unsafe class TunDevice : IDisposable
{
    private int _fd;

    private TunDevice(int fd, string name)
    {
        _fd = fd;
        Name = name;
    }

    public string Name { get; }

    public static TunDevice Create(string name)
    {
        if (Encoding.ASCII.GetByteCount(name) > 15)
        {
            throw new ArgumentException("interface names are at most 15 bytes", nameof(name));
        }

        var fd = Native.Open("/dev/net/tun", Native.ORdWr | Native.OCloexec);
        if (fd < 0)
        {
            throw new IOException($"open /dev/net/tun failed: errno {Marshal.GetLastPInvokeError()}");
        }

        // struct ifreq: char ifr_name[16]; short ifr_flags; padding to 40 bytes.
        var ifr = stackalloc byte[40];
        new Span<byte>(ifr, 40).Clear();
        Encoding.ASCII.GetBytes(name, new Span<byte>(ifr, 15));
        *(short*)(ifr + 16) = Native.IffTun | Native.IffNoPi;
        if (Native.Ioctl(fd, Native.TunSetIff, ifr) < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Native.Close(fd);
            throw new IOException($"TUNSETIFF {name} failed: errno {errno}");
        }

        return new TunDevice(fd, name);
    }

    /// <summary>Waits up to <paramref name="timeoutMs"/> for a packet; returns its length, 0 on timeout, -1 when closed.</summary>
    public int Read(Span<byte> buffer, int timeoutMs)
    {
        var fd = Volatile.Read(ref _fd);
        if (fd < 0)
        {
            return -1;
        }

        var pfd = new Native.PollFd { Fd = fd, Events = Native.PollIn };
        var rc = Native.Poll(&pfd, 1, timeoutMs);
        if (rc <= 0)
        {
            return rc == 0 || Marshal.GetLastPInvokeError() == Native.Eintr ? 0 : -1;
        }

        fixed (byte* p = buffer)
        {
            var n = Native.Read(fd, p, (nuint)buffer.Length);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                return errno is Native.Eintr or Native.Eagain ? 0 : -1;
            }

            return (int)n;
        }
    }

    /// <summary>Writes one packet; a failed write (interface down, no route) is a drop, not an error.</summary>
    public bool Write(ReadOnlySpan<byte> packet)
    {
        var fd = Volatile.Read(ref _fd);
        if (fd < 0)
        {
            return false;
        }

        fixed (byte* p = packet)
        {
            return Native.Write(fd, p, (nuint)packet.Length) == packet.Length;
        }
    }

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            Native.Close(fd);
        }
    }
}
