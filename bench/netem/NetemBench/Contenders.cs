using System.Net;
using NetemLink;
using Accel.Core.Edges;
using SpiceAccel.BenchSupport;

namespace NetemBench;

/// <summary>Where the SPICE client connects from the branch namespace, and the helper processes that make it work.</summary>
public sealed class ContenderSession(string host, int port, IReadOnlyList<NsProcess> processes, int? metricsPort = null) : IDisposable
{
    public string Host { get; } = host;
    public int Port { get; } = port;
    public IReadOnlyList<NsProcess> Processes { get; } = processes;

    /// <summary>Where the client side serves Prometheus text in the branch namespace (SpiceAccel), else null.</summary>
    public int? MetricsPort { get; } = metricsPort;

    public void Dispose()
    {
        foreach (var p in Processes)
        {
            p.Dispose();
        }
    }
}

/// <summary>What a contender needs to know about the run it joins.</summary>
public sealed record ContenderContext(Topology Topology, int SpicePort, string RunDir);

/// <summary>One way of carrying SPICE across the emulated WAN.</summary>
public interface IContender
{
    string Name { get; }

    /// <summary>Null when the contender can run; otherwise why not (reported, never counted as a pass).</summary>
    string? UnavailableReason { get; }

    Task<ContenderSession> StartAsync(ContenderContext context, CancellationToken ct);
}

/// <summary>The baseline: spice-gtk in the branch connects straight to Xspice in the data centre.</summary>
public sealed class PlainContender : IContender
{
    public string Name => "plain";
    public string? UnavailableReason => null;

    public Task<ContenderSession> StartAsync(ContenderContext context, CancellationToken ct)
        => Task.FromResult(new ContenderSession(context.Topology.DataCentreAddress.ToString(), context.SpicePort, []));
}

/// <summary>
/// A contender made of two command lines: a server side started in the data-centre namespace and a client side
/// started in the branch namespace, which listens on 127.0.0.1:{localPort} for the SPICE client.
/// Placeholders: {dcAddr} {brAddr} {spicePort} {wanPort} {localPort}.
/// kcptun is one of these; SpiceAccel plugs in the same way with <c>--spiceaccel-server/--spiceaccel-client</c>.
/// With <paramref name="readyPort"/> the client side serves <c>/ready</c> there ({readyPort}) and the workloads start
/// only once it answers 200, as a deployed edge is (its WAN connection up before any user connects).
/// </summary>
public sealed class CommandContender(string name, string? serverCommand, string? clientCommand, string? unavailable = null, int? readyPort = null) : IContender
{
    public const int WanPort = 29900;
    public const int LocalPort = 5931;
    public const int ReadyPort = 9465;

    public string Name { get; } = name;

    public string? UnavailableReason { get; } = unavailable
        ?? (serverCommand is null || clientCommand is null ? "no command line given" : null);

    public async Task<ContenderSession> StartAsync(ContenderContext context, CancellationToken ct)
    {
        var t = context.Topology;
        var vars = new Dictionary<string, string>
        {
            ["{dcAddr}"] = t.DataCentreAddress.ToString(),
            ["{brAddr}"] = t.BranchAddress.ToString(),
            ["{spicePort}"] = context.SpicePort.ToString(),
            ["{wanPort}"] = WanPort.ToString(),
            ["{localPort}"] = LocalPort.ToString(),
            ["{readyPort}"] = readyPort?.ToString() ?? "",
        };
        var processes = new List<NsProcess>();
        try
        {
            processes.Add(NsProcess.Start(Name + "-server", t.DataCentreNs, Path.Combine(context.RunDir, Name + "-server.log"), null,
                Expand(serverCommand!, vars)));
            processes.Add(NsProcess.Start(Name + "-client", t.BranchNs, Path.Combine(context.RunDir, Name + "-client.log"), null,
                Expand(clientCommand!, vars)));
            await XspiceServer.WaitForTcpAsync(t.BranchNs, IPAddress.Loopback, LocalPort, TimeSpan.FromSeconds(10), ct);
            if (readyPort is { } port)
            {
                await WaitForReadyAsync(t.BranchNs, port, TimeSpan.FromSeconds(30), ct);
            }

            await Task.Delay(300, ct);
            foreach (var p in processes)
            {
                if (p.HasExited)
                {
                    throw new InvalidOperationException($"{p.Name} exited at start (see its log in {context.RunDir})");
                }
            }

            return new ContenderSession("127.0.0.1", LocalPort, processes, readyPort);
        }
        catch
        {
            foreach (var p in processes)
            {
                p.Dispose();
            }

            throw;
        }
    }

    /// <summary>Polls the client side's <c>/ready</c> until it answers 200 (a 503 says why it is not ready yet).</summary>
    private static async Task WaitForReadyAsync(string ns, int port, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            var (code, output) = NetemLink.Shell.Run("ip", "netns", "exec", ns, "curl", "-s", "-m", "2", "-w", " %{http_code}", $"http://127.0.0.1:{port}/ready");
            if (code == 0 && output.TrimEnd().EndsWith(" 200", StringComparison.Ordinal))
            {
                return;
            }

            last = output.Trim();
            await Task.Delay(50, ct);
        }

        throw new TimeoutException($"the client side was not ready within {timeout.TotalSeconds:0} s: {last}");
    }

    private static string[] Expand(string command, Dictionary<string, string> vars)
    {
        foreach (var (k, v) in vars)
        {
            command = command.Replace(k, v, StringComparison.Ordinal);
        }

        return command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    public static CommandContender Kcptun() => new(
        "kcptun",
        "kcptun-server -t 127.0.0.1:{spicePort} -l :{wanPort} --mode fast --quiet",
        "kcptun-client -r {dcAddr}:{wanPort} -l 127.0.0.1:{localPort} --mode fast --quiet",
        File.Exists("/usr/bin/kcptun-client") ? null : "kcptun-client not installed (Debian package kcptun)");

    public static CommandContender SpiceAccel(string? server, string? client) => new(
        "spiceaccel", server, client,
        server is null || client is null
            ? "pass both --spiceaccel-server and --spiceaccel-client command lines"
            : null);

    /// <summary>
    /// The edges this repository builds (src/Accel.Edge, spiceaccel.dll), with a fresh identity for each edge:
    /// the server edge next to Xspice in the data centre, the client edge's explicit listener in the branch.
    /// <paramref name="serverArgs"/> are appended to the server edge's command line (e.g. <c>--Server:DisplayCodec=auto</c>);
    /// <paramref name="dll"/> runs another build (e.g. a ReadyToRun publish, as the .deb ships) instead of the build output.
    /// </summary>
    public static CommandContender SpiceAccelBuilt(string engine = "auto", string serverArgs = "", string? dll = null)
    {
        dll ??= SpiceAccelBuild.DefaultDll();
        if (!File.Exists(dll))
        {
            return new CommandContender("spiceaccel", null, null, $"{dll} is not built (dotnet build SpiceAccel.sln -c Release)");
        }

        var keys = Directory.CreateTempSubdirectory("spiceaccel-netem-keys-").FullName;
        var serverPin = SpiceAccelBuild.Keygen(dll, keys, "server");
        var clientPin = SpiceAccelBuild.Keygen(dll, keys, "client");
        var common = $"--Transport:Engine={engine} --Logging:LogLevel:Default=Warning";
        var server = $"dotnet {dll} server {common} --Metrics:Listen= --Identity:CertificateFile={keys}/server.crt --Identity:KeyFile={keys}/server.key"
            + " --Server:Listen={dcAddr}:{wanPort}"
            + $" --Server:ClientPins:0={clientPin}"
            + " --Server:AllowedBackends:0=127.0.0.1/32:{spicePort} " + serverArgs;
        var client = $"dotnet {dll} client {common} --Metrics:Listen=127.0.0.1:{{readyPort}} --Identity:CertificateFile={keys}/client.crt --Identity:KeyFile={keys}/client.key"
            + " --Client:ServerEdges:dc:Address={dcAddr}:{wanPort}"
            + $" --Client:ServerEdges:dc:Pins:0={serverPin}"
            + " --Client:Listeners:0:Mode=Explicit --Client:Listeners:0:Listen=127.0.0.1:{localPort} --Client:Listeners:0:ServerEdge=dc"
            + " --Client:Listeners:0:Backend=127.0.0.1:{spicePort}";
        return new CommandContender("spiceaccel", server, client, readyPort: ReadyPort);
    }
}
