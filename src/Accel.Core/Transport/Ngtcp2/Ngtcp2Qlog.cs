using System.Globalization;
using System.Runtime.InteropServices;

namespace Accel.Core.Transport.Ngtcp2;

/// <summary>
/// A debugging aid: with <c>ACCEL_NGTCP2_QLOG_DIR</c> set, every ngtcp2 connection writes ngtcp2's qlog (JSON-SEQ:
/// every frame sent and received, path validations, connection IDs) to a file of its own in that directory. Off
/// otherwise, at no cost. Loop thread only; closed when ngtcp2 says the trace is complete or the connection ends.
/// </summary>
internal sealed unsafe class Ngtcp2Qlog : IDisposable
{
    private const string DirectoryVariable = "ACCEL_NGTCP2_QLOG_DIR";
    private const uint WriteFlagFin = 0x01;

    private FileStream? _file;

    private Ngtcp2Qlog(FileStream file) => _file = file;

    /// <summary>The qlog file for a new connection, or null when qlog is off.</summary>
    public static Ngtcp2Qlog? Open(bool isServer)
    {
        var directory = Environment.GetEnvironmentVariable(DirectoryVariable);
        if (string.IsNullOrEmpty(directory))
        {
            return null;
        }

        var name = string.Create(CultureInfo.InvariantCulture, $"{(isServer ? "server" : "client")}-{DateTime.UtcNow:HHmmss.fff}-{Environment.ProcessId}-{Random.Shared.Next():x8}.sqlog");
        try
        {
            Directory.CreateDirectory(directory);
            // Unbuffered: an edge that is killed keeps the trace up to its last event, which is usually the one that matters.
            return new Ngtcp2Qlog(new FileStream(Path.Combine(directory, name), FileMode.CreateNew, FileAccess.Write, FileShare.Read, 0));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A debugging trace that cannot be written must not cost the connection.
            return null;
        }
    }

    /// <summary>The <c>ngtcp2_settings.qlog_write</c> callback.</summary>
    public static nint Callback => (nint)(delegate* unmanaged<void*, uint, void*, nuint, void>)&Write;

    [UnmanagedCallersOnly]
    private static void Write(void* userData, uint flags, void* data, nuint length)
    {
        try
        {
            var qlog = Ngtcp2NativeConnection.OwnerOf(userData)?.Qlog;
            if (qlog?._file is not { } file)
            {
                return;
            }

            file.Write(new ReadOnlySpan<byte>(data, (int)length));
            if ((flags & WriteFlagFin) != 0)
            {
                qlog.Dispose();
            }
        }
        catch
        {
            // Nothing may cross into native code, and a debugging trace (a full disk) must not fail the connection.
        }
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
    }
}
