namespace Accel.Edge.Hosting;

/// <summary>The configuration is wrong: each problem is one line that names its key (exit 78, EX_CONFIG).</summary>
internal sealed class EdgeConfigurationException(IReadOnlyList<string> problems)
    : Exception(string.Join(Environment.NewLine, problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;

    public int ExitCode => Program.ExitConfig;
}

/// <summary>
/// The system refused what a valid configuration asks for (a port in use, an address not on this host): one line that
/// names the key, exit 71 (EX_OSERR) by default.
/// </summary>
internal sealed class EdgeStartException(string message, Exception? inner = null, int exitCode = Program.ExitOsError)
    : Exception(message, inner)
{
    public int ExitCode { get; } = exitCode;
}
