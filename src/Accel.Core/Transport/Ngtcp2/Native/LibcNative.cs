using System.Runtime.InteropServices;

namespace Accel.Core.Transport.Ngtcp2.Native;

#pragma warning disable IDE1006, CA1707, CS8981

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct iovec
{
    public void* iov_base;
    public nuint iov_len;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct msghdr
{
    public void* msg_name;
    public uint msg_namelen;
    public iovec* msg_iov;
    public nuint msg_iovlen;
    public void* msg_control;
    public nuint msg_controllen;
    public int msg_flags;
}

[StructLayout(LayoutKind.Sequential)]
internal struct mmsghdr
{
    public msghdr msg_hdr;
    public uint msg_len;
}

/// <summary>recvmmsg(2): many datagrams per system call on the receive thread.</summary>
internal static unsafe class LibcNative
{
    public const int MSG_WAITFORONE = 0x10000;
    public const int EINTR = 4;
    public const int EAGAIN = 11;

    [DllImport("libc", SetLastError = true)]
    public static extern int recvmmsg(int sockfd, mmsghdr* msgvec, uint vlen, int flags, void* timeout);
}
