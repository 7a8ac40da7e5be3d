using System.Globalization;
using System.Runtime.InteropServices;

namespace Accel.Core.Transport.MsQuic;

/// <summary>
/// Where System.Net.Quic's libmsquic comes from. Microsoft's package installs it on the default library path and
/// nothing is needed; a libmsquic built elsewhere (eng/msquic-from-source.sh) is named by the environment variable
/// <see cref="DirectoryVariable"/>: its <c>libmsquic.so.2</c> is loaded first, and System.Net.Quic's own lookup of
/// that name then finds the library already in the process. Also reports which libmsquic is loaded (version, path).
/// </summary>
public static unsafe class MsQuicLibrary
{
    /// <summary>The environment variable naming the directory that holds libmsquic.so.2.</summary>
    public const string DirectoryVariable = "SPICEACCEL_MSQUIC_DIR";

    /// <summary>The file name System.Net.Quic loads on Linux (the library's soname).</summary>
    public const string FileName = "libmsquic.so.2";

    private const uint ApiVersion2 = 2;
    private const uint ParamGlobalLibraryVersion = 0x01000004;
    private const int SetParamSlot = 3; // QUIC_API_TABLE: SetContext, GetContext, SetCallbackHandler, SetParam, GetParam
    private const int GetParamSlot = 4;

    private static readonly Lazy<string?> s_preloadError = new(Preload);
    private static readonly Lazy<nint> s_api = new(OpenApi);

    /// <summary>The directory named by <see cref="DirectoryVariable"/>, or null when it is not set.</summary>
    public static string? ConfiguredDirectory => Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } dir ? dir : null;

    /// <summary>
    /// Loads libmsquic from <see cref="ConfiguredDirectory"/> (once) before System.Net.Quic looks for it. Returns
    /// why that failed, or null when it worked or nothing was configured.
    /// </summary>
    public static string? EnsureLoaded() => s_preloadError.Value;

    /// <summary>"libmsquic 2.5.10 at /path/libmsquic.so.2.5.10", or null when no libmsquic is in the process.</summary>
    public static string? Describe()
    {
        var path = LoadedPath();
        if (path is null)
        {
            return null;
        }

        return $"libmsquic {QueryVersion() ?? "(version unknown)"} at {path}";
    }

    /// <summary>Whether the API table of the loaded libmsquic is reachable (for the parameters System.Net.Quic does not expose).</summary>
    internal static bool HasApi => s_api.Value != 0;

    /// <summary>The file libmsquic was mapped from (Linux), or null.</summary>
    public static string? LoadedPath()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                var slash = line.IndexOf('/', StringComparison.Ordinal);
                if (slash >= 0 && line.AsSpan(slash).Contains("/libmsquic.so", StringComparison.Ordinal))
                {
                    return line[slash..];
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    private static string? Preload()
    {
        var dir = ConfiguredDirectory;
        if (dir is null || !OperatingSystem.IsLinux())
        {
            return null;
        }

        var path = Path.Combine(dir, FileName);
        if (!File.Exists(path))
        {
            return $"{DirectoryVariable}={dir}, but {path} does not exist";
        }

        try
        {
            NativeLibrary.Load(path);
            return null;
        }
        catch (DllNotFoundException ex)
        {
            return $"{DirectoryVariable}={dir}: {path} does not load: {ex.Message}";
        }
    }

    /// <summary>
    /// MsQuic's GetParam on a handle (0 for global parameters) through the library's own API table; false when
    /// no libmsquic is loaded or the call fails. <paramref name="length"/> is in and out, as in msquic.h.
    /// </summary>
    internal static bool TryGetParam(nint handle, uint param, void* buffer, ref uint length)
    {
        var api = s_api.Value;
        if (api == 0)
        {
            return false;
        }

        var getParam = (delegate* unmanaged<nint, uint, uint*, void*, int>)((nint*)api)[GetParamSlot];
        fixed (uint* len = &length)
        {
            return getParam(handle, param, len, buffer) == 0;
        }
    }

    /// <summary>MsQuic's SetParam on a handle (0 for global parameters); false when no libmsquic is loaded or the call fails.</summary>
    internal static bool TrySetParam(nint handle, uint param, void* buffer, uint length)
    {
        var api = s_api.Value;
        if (api == 0)
        {
            return false;
        }

        var setParam = (delegate* unmanaged<nint, uint, uint, void*, int>)((nint*)api)[SetParamSlot];
        return setParam(handle, param, length, buffer) == 0;
    }

    /// <summary>Asks the loaded library for QUIC_PARAM_GLOBAL_LIBRARY_VERSION.</summary>
    private static string? QueryVersion()
    {
        var version = stackalloc uint[4];
        var length = (uint)(4 * sizeof(uint));
        return TryGetParam(0, ParamGlobalLibraryVersion, version, ref length)
            ? string.Create(CultureInfo.InvariantCulture, $"{version[0]}.{version[1]}.{version[2]}")
            : null;
    }

    /// <summary>Opens the API table of the libmsquic System.Net.Quic uses, once; kept for the process's life.</summary>
    private static nint OpenApi()
    {
        if (EnsureLoaded() is not null ||
            !NativeLibrary.TryLoad(FileName, out var handle) ||
            !NativeLibrary.TryGetExport(handle, "MsQuicOpenVersion", out var open))
        {
            return 0;
        }

        void* api = null;
        return ((delegate* unmanaged<uint, void**, int>)open)(ApiVersion2, &api) == 0 ? (nint)api : 0;
    }
}
