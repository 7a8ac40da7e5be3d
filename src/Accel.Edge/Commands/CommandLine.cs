namespace Accel.Edge.Commands;

/// <summary>A tiny option reader for the utility verbs: --name value, --flag.</summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);

    public CommandLine(string[] args, IReadOnlySet<string> flags, IReadOnlySet<string> valued)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (a is "-h" or "--help")
            {
                Help = true;
                continue;
            }

            var eq = a.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? a[..eq] : a;
            if (flags.Contains(name))
            {
                _values[name] = null;
            }
            else if (valued.Contains(name))
            {
                _values[name] = eq > 0 ? a[(eq + 1)..] : i + 1 < args.Length ? args[++i] : throw new Accel.Edge.UsageException($"{name} needs a value");
            }
            else
            {
                throw new Accel.Edge.UsageException($"unknown option '{a}'");
            }
        }
    }

    public bool Help { get; }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? Get(string name) => _values.TryGetValue(name, out var v) ? v : null;

    public string Require(string name) => Get(name) ?? throw new Accel.Edge.UsageException($"{name} is required");
}
