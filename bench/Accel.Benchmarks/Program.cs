using Accel.Benchmarks;

return args.Length > 0 && args[0] switch
{
    "transport-throughput" => true,
    "transport-throughput-server" => true,
    _ => false,
}
    ? await TransportThroughput.RunAsync(args)
    : Usage();

static int Usage()
{
    Console.Error.WriteLine("usage: Accel.Benchmarks transport-throughput [--engine ngtcp2|msquic] [--bytes 2G] [--cc bbr|cubic|reno]");
    return 2;
}
