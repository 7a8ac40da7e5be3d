using System.Text.RegularExpressions;
using Accel.Edge.Tests.Lab;

namespace Accel.Edge.Tests.Systemd;

/// <summary>
/// A unit's SystemCallFilter= as systemd applies it, with the groups systemd-analyze lists on this machine; and what
/// strace saw a process do.
/// </summary>
internal static partial class SyscallFilter
{
    /// <summary>The system calls the unit allows: each allow-list line adds, each "~" line removes (systemd's order).</summary>
    public static async Task<HashSet<string>> AllowedAsync(string unit)
    {
        var groups = Groups(await Shell.RunAsync("systemd-analyze", ["syscall-filter"]));
        var allowed = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match line in FilterLine().Matches(unit))
        {
            var value = line.Groups[1].Value.Trim();
            var deny = value.StartsWith('~');
            foreach (var item in value.TrimStart('~').Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                foreach (var call in Expand(item, groups))
                {
                    if (deny)
                    {
                        allowed.Remove(call);
                    }
                    else
                    {
                        allowed.Add(call);
                    }
                }
            }
        }

        return allowed;
    }

    /// <summary>The names of the system calls in an strace -f log (resumed and signal lines carry none).</summary>
    public static SortedSet<string> Calls(IEnumerable<string> trace)
        => new(trace.Select(static l => CallLine().Match(l)).Where(static m => m.Success).Select(static m => m.Groups[1].Value), StringComparer.Ordinal);

    private static Dictionary<string, List<string>> Groups(string listing)
    {
        var groups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (var raw in listing.Split('\n'))
        {
            var line = raw.Trim();
            if (raw.StartsWith('@'))
            {
                groups[line] = current = [];
            }
            else if (current is not null && line.Length > 0 && !line.StartsWith('#'))
            {
                current.Add(line);
            }
        }

        return groups;
    }

    private static IEnumerable<string> Expand(string item, Dictionary<string, List<string>> groups)
    {
        if (!item.StartsWith('@'))
        {
            return [item];
        }

        Assert.True(groups.TryGetValue(item, out var members), "systemd-analyze knows no group " + item);
        return members.SelectMany(m => Expand(m, groups));
    }

    [GeneratedRegex(@"(?m)^SystemCallFilter=(.*)$")]
    private static partial Regex FilterLine();

    [GeneratedRegex(@"^\d+\s+([a-z0-9_]+)\(")]
    private static partial Regex CallLine();
}
