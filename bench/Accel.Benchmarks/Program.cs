using Accel.Benchmarks;
using BenchmarkDotNet.Running;

if (args.Length > 0 && args[0] == "canvas")
{
    // BenchmarkDotNet options follow, e.g. canvas --filter '*' --job short
    BenchmarkSwitcher.FromTypes([typeof(CanvasBenchmarks), typeof(CanvasRefreshBenchmarks)]).Run(args[1..]);
    return 0;
}

return args.Length > 0 && args[0] switch
{
    "transport-throughput" => true,
    "transport-throughput-server" => true,
    "relay-throughput" => true,
    "handshake-flood" => true,
    "handshake-flood-server" => true,
    "idle-connections" => true,
    "idle-connections-server" => true,
    "sessions" or "sessions-soak" => true,
    _ => false,
}
    ? await RunAsync(args)
    : Usage();

static async Task<int> RunAsync(string[] args)
{
    try
    {
        return args[0] switch
        {
            "relay-throughput" => await RelayThroughput.RunAsync(args),
            "handshake-flood" or "handshake-flood-server" => await HandshakeFlood.RunAsync(args),
            "idle-connections" or "idle-connections-server" => await IdleConnections.RunAsync(args),
            "sessions" or "sessions-soak" => await Accel.Benchmarks.Sessions.SessionLoad.RunAsync(args),
            _ => await TransportThroughput.RunAsync(args),
        };
    }
    catch (PlatformNotSupportedException ex)
    {
        Console.Error.WriteLine("engine not available on this host: " + ex.Message);
        return 69;
    }
    catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or FileNotFoundException or IOException)
    {
        Console.Error.WriteLine($"{args[0]}: {ex.Message}");
        return 1;
    }
}

static int Usage()
{
    Console.Error.WriteLine("usage: Accel.Benchmarks transport-throughput [--engine ngtcp2|msquic] [--bytes 2G] [--cc bbr|cubic|reno]");
    Console.Error.WriteLine("       Accel.Benchmarks relay-throughput [--engine ngtcp2|msquic] [--bytes 1G] [--message 64K] [--budget off]");
    Console.Error.WriteLine("       Accel.Benchmarks handshake-flood [--rate 5000] [--seconds 20] [--distinct 20000] [--retry automatic|always|off] [--max-half-open 256]");
    Console.Error.WriteLine("       Accel.Benchmarks idle-connections [--connections 2000] [--settle 10]");
    Console.Error.WriteLine("       Accel.Benchmarks sessions [--active 20] [--stalled 8] [--phase 30] [--stall-timeout 10] [--flood-rate 0] [--flood-seconds 60]");
    Console.Error.WriteLine("       Accel.Benchmarks sessions-soak [--minutes 30] [--sessions 10]");
    Console.Error.WriteLine("         (both: [--engine ngtcp2|msquic] [--draw-size 64] [--draw-rate 20] [--key-interval 200] [--spiceaccel-dll PATH] [--edge-args 'ARGS'])");
    Console.Error.WriteLine("       Accel.Benchmarks canvas [BenchmarkDotNet options, e.g. --filter '*' --job short --inProcess]");
    return 2;
}
