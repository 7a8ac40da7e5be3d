using System.Net;
using System.Net.Sockets;
using Accel.Core.Relay;
using Microsoft.Extensions.Logging;

namespace Accel.Edge.Listeners;

/// <summary>A local port mapped to one backend behind a server edge.</summary>
internal sealed class ExplicitListener(IPEndPoint listen, ClientEdge edge, string serverEdge, string backendHost, ushort backendPort, ILogger logger)
    : SpiceListener(listen, edge, serverEdge, logger)
{
    protected override string Mode => "explicit";

    protected override Task ServeAsync(Socket client, CancellationToken cancellationToken)
        => Edge.HandleAsync(client, ServerEdge, backendHost, backendPort, cancellationToken);
}
