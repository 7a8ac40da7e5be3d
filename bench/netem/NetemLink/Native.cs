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

    [LibraryImport("libc", EntryPoint = "gettid")]
    public static partial int GetTid();

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    public static partial int SetPriority(int which, int who, int priority);

    /// <summary>
    /// Gives the calling thread a higher scheduling weight (nice -10: about nine times a normal thread's CPU share)
    /// so that the emulated link and its probes keep their timing on a busy machine, as a real link would. Needs
    /// root (the bench runs as root); elsewhere the thread keeps its weight.
    /// </summary>
    public static void BoostCurrentThread()
    {
        const int PrioProcess = 0;
        _ = SetPriority(PrioProcess, GetTid(), -10);
    }

    /// <summary>Boosts the calling (pool) thread until disposed, then gives it back its normal weight.</summary>
    public static BoostScope BoostFor() => new(GetTid());

    public readonly struct BoostScope : IDisposable
    {
        private readonly int _tid;

        internal BoostScope(int tid)
        {
            _tid = tid;
            BoostCurrentThread();
        }

        public void Dispose() => _ = SetPriority(0, _tid, 0);
    }
}
