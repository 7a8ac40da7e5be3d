using Microsoft.Extensions.Logging;

namespace Accel.Core.Spice.Policies;

internal static partial class PolicyLog
{
    [LoggerMessage(1206, LogLevel.Information, "Migration to {Host}:{Port} rewritten to {NewHost}:{NewPort} (through the edges)")]
    public static partial void MigrationRewritten(ILogger logger, string host, int port, string newHost, int newPort);

    [LoggerMessage(1205, LogLevel.Information, "Migration to {Host}:{Port} passed through unchanged (the client reaches it through the edges by proxy or redirect)")]
    public static partial void MigrationUnchanged(ILogger logger, string host, int port);
}
