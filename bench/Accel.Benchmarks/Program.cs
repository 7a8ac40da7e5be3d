using Accel.Benchmarks;

return args.Length > 0 && args[0] switch
{
    "transport-throughput" => true,
    "transport-throughput-server" => true,
    _ => false,
}
    ? await RunAsync(args)
    : Usage();

static async Task<int> RunAsync(string[] args)
{
    try
    {
        return await TransportThroughput.RunAsync(args);
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
    return 2;
}
