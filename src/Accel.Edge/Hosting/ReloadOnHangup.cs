using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Accel.Edge.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Accel.Edge.Hosting;

/// <summary>
/// SIGHUP (systemd's <c>ExecReload=/bin/kill -HUP $MAINPID</c>) re-reads the configuration without dropping
/// sessions. The server edge applies Server:ClientPins, AllowedBackends, UpstreamProxy, TlsBackends,
/// BackendConnectTimeout and DisplayCodec; the client edge applies each named server edge's Address, Pins, CaFile and
/// ServerName, and its listeners (added ones bound, removed ones stop accepting, their connections go on). Everything
/// else (the server edge's listen address, identity, transport, ClientCaFile, metrics, server edge names) needs a
/// restart and is reported as such. A configuration that does not
/// validate is logged and not applied: the edge keeps running with the one it has.
/// </summary>
internal sealed partial class ReloadOnHangup(IServiceProvider services, IConfiguration configuration, IOptions<EdgeOptions> started, EdgeRole role, ILogger<ReloadOnHangup> logger) : IHostedService, IDisposable
{
    private readonly Lock _gate = new();
    private PosixSignalRegistration? _registration;
    private EdgeOptions _current = started.Value;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            _ = Task.Run(Reload, CancellationToken.None);
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _registration?.Dispose();

    /// <summary>Re-reads, validates and applies; false (logged) when the new configuration is rejected.</summary>
    internal bool Reload()
    {
        lock (_gate)
        {
            // systemd shows the unit as reloading until READY=1 (sd_notify(3): RELOADING=1 with the monotonic clock, which
            // Stopwatch reads on Linux); it comes back whether the new configuration was applied or rejected.
            ServiceNotifier.Notify("RELOADING=1\nMONOTONIC_USEC=" + (Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000)).ToString(CultureInfo.InvariantCulture));
            bool applied = false;
            try
            {
                applied = Apply();
                return applied;
            }
            finally
            {
                ServiceNotifier.Notify(applied ? "READY=1\nSTATUS=running (configuration reloaded)" : "READY=1\nSTATUS=running (reload rejected, see the log)");
            }
        }
    }

    /// <summary>Re-reads and validates; applies and returns true, or logs why not and returns false.</summary>
    private bool Apply()
    {
        EdgeOptions reloaded;
        try
        {
            ((IConfigurationRoot)configuration).Reload();
            var problems = ConfigurationKeys.Check(configuration);
            reloaded = problems.Count == 0 ? configuration.Get<EdgeOptions>() ?? new EdgeOptions() : throw new EdgeConfigurationException(problems);
            var result = new EdgeOptionsValidator(role).Validate(null, reloaded);
            if (result.Failed)
            {
                throw new EdgeConfigurationException([.. result.Failures]);
            }
        }
        catch (Exception ex) when (ex is EdgeConfigurationException or InvalidOperationException or InvalidDataException or FormatException or IOException)
        {
            Rejected(logger, ex is EdgeConfigurationException c ? string.Join("; ", c.Problems) : ex.Message);
            return false;
        }

        var restart = NeedsRestart(_current, reloaded, role);
        int disconnected;
        try
        {
            disconnected = role == EdgeRole.Server ? services.GetRequiredService<ServerEdgeService>().Reload(reloaded)
                : services.GetRequiredService<ClientEdgeService>().ReloadAsync(reloaded, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
        {
            Rejected(logger, "Client:ServerEdges: cannot resolve a server edge's address: " + ex.Message);
            return false;
        }

        _current = reloaded;
        if (role == EdgeRole.Server)
        {
            Reloaded(logger, reloaded.Server.ClientPins.Count, reloaded.Server.AllowedBackends.Count, disconnected);
        }
        else
        {
            ClientReloaded(logger, reloaded.Client.ServerEdges.Count, disconnected);
        }
        if (restart.Count > 0)
        {
            NeedRestart(logger, string.Join(", ", restart));
        }

        return true;
    }

    /// <summary>The changed keys that a reload does not apply.</summary>
    internal static List<string> NeedsRestart(EdgeOptions before, EdgeOptions after, EdgeRole role)
    {
        var keys = new List<string>();
        void Check(string key, object? a, object? b)
        {
            if (!Equals(a, b))
            {
                keys.Add(key);
            }
        }

        Check("Identity:CertificateFile", before.Identity.CertificateFile, after.Identity.CertificateFile);
        Check("Identity:KeyFile", before.Identity.KeyFile, after.Identity.KeyFile);
        Check("Metrics:Listen", before.Metrics.Listen, after.Metrics.Listen);
        Check("Limits:ResumeGrace", before.Limits.ResumeGrace, after.Limits.ResumeGrace);
        var (t, u) = (before.Transport, after.Transport);
        Check("Transport", (t.Engine, t.CongestionControl, t.IdleTimeout, t.KeepAliveInterval, t.HandshakeTimeout, t.StreamReceiveWindow, t.ConnectionReceiveWindow),
            (u.Engine, u.CongestionControl, u.IdleTimeout, u.KeepAliveInterval, u.HandshakeTimeout, u.StreamReceiveWindow, u.ConnectionReceiveWindow));
        if (role == EdgeRole.Server)
        {
            Check("Server:Listen", before.Server.Listen, after.Server.Listen);
            Check("Server:ClientCaFile", before.Server.ClientCaFile, after.Server.ClientCaFile);
            var (h, k) = (before.Server.Handshakes, after.Server.Handshakes);
            Check("Server:Handshakes", (h.MaxHalfOpen, h.Retry, h.RetryAbovePerSecond, h.RetryAboveHalfOpen), (k.MaxHalfOpen, k.Retry, k.RetryAbovePerSecond, k.RetryAboveHalfOpen));
        }
        else
        {
            // Applied: each named server edge's Address, Pins, CaFile and ServerName, and the listeners. Not: the names, the rest.
            var (c, d) = (before.Client, after.Client);
            Check("Client:ServerEdges (names)", string.Join(",", c.ServerEdges.Keys.Order(StringComparer.Ordinal)), string.Join(",", d.ServerEdges.Keys.Order(StringComparer.Ordinal)));
            Check("Client:DisplayPreviews", c.DisplayPreviews, d.DisplayPreviews);
            Check("Client:InputDatagrams", c.InputDatagrams, d.InputDatagrams);
            Check("Client:InputRedundancy", c.InputRedundancy, d.InputRedundancy);
            Check("Client:WanCompression", c.WanCompression, d.WanCompression);

            if (System.Text.Json.JsonSerializer.Serialize(before.Limits) != System.Text.Json.JsonSerializer.Serialize(after.Limits))
            {
                keys.Add("Limits");
            }
        }

        return keys;
    }

    [LoggerMessage(4001, LogLevel.Information, "Configuration reloaded (SIGHUP): {Pins} client pins, {Rules} allow-list entries; {Disconnected} peers disconnected")]
    private static partial void Reloaded(ILogger logger, int pins, int rules, int disconnected);

    [LoggerMessage(4004, LogLevel.Information, "Configuration reloaded (SIGHUP): addresses and pins of {Edges} server edges; {Disconnected} connections closed (their server edge's key is no longer pinned)")]
    private static partial void ClientReloaded(ILogger logger, int edges, int disconnected);

    [LoggerMessage(4002, LogLevel.Error, "Configuration reload (SIGHUP) rejected, keeping the running configuration: {Problems}")]
    private static partial void Rejected(ILogger logger, string problems);

    [LoggerMessage(4003, LogLevel.Warning, "Configuration reload: changes to {Keys} take effect only after a restart")]
    private static partial void NeedRestart(ILogger logger, string keys);
}
