using System.Runtime.InteropServices;

namespace NetemLink;

/// <summary>The few libc calls the emulator needs: TUN setup, blocking I/O with poll, and setns.</summary>
internal static unsafe partial class Native
{
    public const int ORdWr = 2;
    public const int OCloexec = 0x80000;
    public const short IffTun = 0x0001;
    public const short IffNoPi = 0x1000;
    public const uint TunSetIff = 0x400454ca;
    public const short PollIn = 0x0001;
    public const int CloneNewNet = 0x40000000;
    public const int Eintr = 4;
    public const int Eagain = 11;

    [StructLayout(LayoutKind.Sequential)]
    public struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, nuint request, void* arg);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buf, nuint count);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint nfds, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nstype);
}
