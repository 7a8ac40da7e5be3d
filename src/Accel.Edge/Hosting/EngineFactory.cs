using Accel.Core.Transport;
using Accel.Core.Transport.MsQuic;
using Accel.Core.Transport.Ngtcp2;
using Microsoft.Extensions.Logging;

namespace Accel.Edge.Hosting;

/// <summary>Picks the QUIC engine: "auto" takes msquic where libmsquic exists, else ngtcp2.</summary>
internal static class EngineFactory
{
    public static ITransportEngine Create(string name, ILoggerFactory? loggerFactory = null)
    {
        switch (name)
        {
            case "ngtcp2":
                return Require(new Ngtcp2Engine(loggerFactory));
            case "msquic":
                return Require(CreateMsQuic());
            case "auto":
                var msquic = CreateMsQuic();
                if (msquic.IsSupported)
                {
                    return msquic;
                }

                return Require(new Ngtcp2Engine(loggerFactory));
            default:
                throw new ArgumentException($"unknown engine '{name}' (auto, ngtcp2, msquic)", nameof(name));
        }
    }

    public static IEnumerable<ITransportEngine> All(ILoggerFactory? loggerFactory = null)
    {
        yield return new Ngtcp2Engine(loggerFactory);
        yield return CreateMsQuic();
    }

    private static ITransportEngine CreateMsQuic()
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsWindows() || OperatingSystem.IsMacOS())
        {
            return new MsQuicEngine();
        }

        throw new PlatformNotSupportedException("msquic needs Linux, Windows or macOS");
    }

    private static ITransportEngine Require(ITransportEngine engine)
        => engine.IsSupported ? engine : throw new PlatformNotSupportedException($"QUIC engine '{engine.Name}' is not usable here: {engine.UnsupportedReason}");
}
