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
    _ => false,
}
    ? await RunAsync(args)
    : Usage();

static async Task<int> RunAsync(string[] args)
{
    try
    {
        return args[0] == "relay-throughput" ? await RelayThroughput.RunAsync(args) : await TransportThroughput.RunAsync(args);
    }
    catch (PlatformNotSupportedException ex)
    {
        Console.Error.WriteLine("engine not available on this host: " + ex.Message);
        return 69;
    }
}

static int Usage()
{
    Console.Error.WriteLine("usage: Accel.Benchmarks transport-throughput [--engine ngtcp2|msquic] [--bytes 2G] [--cc bbr|cubic|reno]");
    Console.Error.WriteLine("       Accel.Benchmarks relay-throughput [--engine ngtcp2|msquic] [--bytes 1G] [--message 64K] [--budget off]");
    Console.Error.WriteLine("       Accel.Benchmarks canvas [BenchmarkDotNet options, e.g. --filter '*' --job short --inProcess]");
    return 2;
}
