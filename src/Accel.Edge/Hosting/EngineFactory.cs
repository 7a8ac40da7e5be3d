using Accel.Core.Transport;
using Accel.Core.Transport.Ngtcp2;
using Microsoft.Extensions.Logging;

namespace Accel.Edge.Hosting;

/// <summary>Picks the QUIC engine: "auto" takes msquic where libmsquic exists, else ngtcp2.</summary>
internal static class EngineFactory
{
    public static ITransportEngine Create(string name, ILoggerFactory? loggerFactory = null, int? eventLoops = null)
        => Require(TransportEngines.Resolve(name, loggerFactory, eventLoops: eventLoops));

    public static IEnumerable<ITransportEngine> All(ILoggerFactory? loggerFactory = null)
    {
        yield return new Ngtcp2Engine(loggerFactory);
        yield return TransportEngines.CreateMsQuic(loggerFactory);
    }

    private static ITransportEngine Require(ITransportEngine engine)
        => engine.IsSupported ? engine : throw new PlatformNotSupportedException($"QUIC engine '{engine.Name}' is not usable here: {engine.UnsupportedReason}");
}
