using Accel.Core.Transport.MsQuic;
using Accel.Core.Transport.Ngtcp2;
using Microsoft.Extensions.Logging;

namespace Accel.Core.Transport;

/// <summary>Picks a transport engine by name: "ngtcp2", "msquic", or "auto" (the first supported, MsQuic preferred).</summary>
public static class TransportEngines
{
    /// <summary>
    /// Resolves <paramref name="name"/>. <paramref name="msquicFactory"/> creates the MsQuic engine where one is built
    /// in (it lives in another folder of this assembly and is passed in so this file does not depend on it).
    /// <paramref name="eventLoops"/>: the ngtcp2 engine's event-loop threads (1..64, null: one per core); msquic runs its own.
    /// </summary>
    public static ITransportEngine Resolve(string name, ILoggerFactory? loggerFactory = null, Func<ILoggerFactory?, ITransportEngine>? msquicFactory = null, int? eventLoops = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        msquicFactory ??= CreateMsQuic;
        switch (name.ToLowerInvariant())
        {
            case "ngtcp2":
                return new Ngtcp2Engine(loggerFactory, eventLoops);
            case "msquic":
                return msquicFactory?.Invoke(loggerFactory) ?? throw new NotSupportedException("No MsQuic engine is available in this build.");
            case "auto":
                var msquic = msquicFactory?.Invoke(loggerFactory);
                if (msquic is { IsSupported: true })
                {
                    return msquic;
                }

                var ngtcp2 = new Ngtcp2Engine(loggerFactory, eventLoops);
                if (ngtcp2.IsSupported)
                {
                    return ngtcp2;
                }

                throw new PlatformNotSupportedException($"No QUIC engine is supported here: ngtcp2: {ngtcp2.UnsupportedReason}; msquic: {msquic?.UnsupportedReason ?? "not built in"}");
            default:
                throw new ArgumentException($"Unknown transport engine '{name}' (expected auto, ngtcp2 or msquic).", nameof(name));
        }
    }

    /// <summary>The System.Net.Quic engine (on platforms where System.Net.Quic exists at all).</summary>
    public static ITransportEngine CreateMsQuic(ILoggerFactory? loggerFactory = null)
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS())
        {
            return new MsQuicEngine();
        }

        throw new PlatformNotSupportedException("System.Net.Quic needs Linux, Windows or macOS");
    }
}
