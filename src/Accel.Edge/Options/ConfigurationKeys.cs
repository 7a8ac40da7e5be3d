using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace Accel.Edge.Options;

/// <summary>
/// Walks the configuration against <see cref="EdgeOptions"/> before anything is bound: a key that no option has
/// (usually a typo) and a value that does not convert to its option's type are reported with the full key, where
/// the binder would either ignore the key silently or throw a stack trace.
/// </summary>
internal static class ConfigurationKeys
{
    /// <summary>
    /// Top-level keys that belong to the host, not to <see cref="EdgeOptions"/>: Logging, and MSQUIC_DIR (the
    /// environment variable SPICEACCEL_MSQUIC_DIR, read by the MsQuic engine itself, lands here through the prefix).
    /// </summary>
    private static readonly string[] s_hostSections = ["Logging", "MSQUIC_DIR"];

    public static List<string> Check(IConfiguration configuration)
    {
        var problems = new List<string>();
        foreach (var child in configuration.GetChildren())
        {
            if (s_hostSections.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            CheckMember(child, typeof(EdgeOptions), problems);
        }

        return problems;
    }

    private static void CheckMember(IConfigurationSection section, Type owner, List<string> problems)
    {
        var property = owner.GetProperty(section.Key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
        if (property is null || !property.CanWrite)
        {
            var known = owner.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(static p => p.CanWrite).Select(static p => p.Name).ToArray();
            var suggestion = Closest(section.Key, known);
            problems.Add(suggestion is null
                ? $"{section.Path}: unknown key (known here: {string.Join(", ", known)})"
                : $"{section.Path}: unknown key; did you mean {Parent(section.Path)}{suggestion}?");
            return;
        }

        CheckValue(section, property.PropertyType, problems);
    }

    private static void CheckValue(IConfigurationSection section, Type type, List<string> problems)
    {
        var children = section.GetChildren().ToList();
        if (IsScalar(type))
        {
            if (children.Count > 0)
            {
                problems.Add($"{section.Path}: expects {Describe(type)}, not a section or a list");
            }
            // An empty value ("") leaves a string or a nullable empty, but the binder cannot make a number, flag or
            // duration of it (it threw "Failed to convert configuration value ''": found by the config fuzz target).
            else if (section.Value is { } value && (value.Length > 0 || (type.IsValueType && Nullable.GetUnderlyingType(type) is null)) && !Converts(value, type))
            {
                problems.Add($"{section.Path}: '{value}' is not {Describe(type)}");
            }

            return;
        }

        if (section.Value is { Length: > 0 } scalar)
        {
            problems.Add($"{section.Path}: expects a section or a list, not the value '{scalar}'");
            return;
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            var valueType = type.GetGenericArguments()[1];
            children.ForEach(c => CheckValue(c, valueType, problems));
        }
        else if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            var itemType = type.GetGenericArguments()[0];
            foreach (var c in children)
            {
                if (!int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    problems.Add($"{c.Path}: expects a list ([ ... ]), not a section with the key '{c.Key}'");
                    continue;
                }

                CheckValue(c, itemType, problems);
            }
        }
        else
        {
            children.ForEach(c => CheckMember(c, type, problems));
        }
    }

    private static bool IsScalar(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t.IsPrimitive || t.IsEnum || t == typeof(string) || t == typeof(TimeSpan) || t == typeof(decimal);
    }

    private static bool Converts(string value, Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t.IsEnum)
        {
            return Enum.TryParse(t, value, ignoreCase: true, out var parsed) && Enum.IsDefined(t, parsed!);
        }

        try
        {
            TypeDescriptor.GetConverter(t).ConvertFromInvariantString(value);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or NotSupportedException or OverflowException || ex.InnerException is FormatException or OverflowException)
        {
            return false;
        }
    }

    private static string Describe(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t switch
        {
            _ when t.IsEnum => "one of " + string.Join(", ", Enum.GetNames(t)),
            _ when t == typeof(TimeSpan) => "a duration (hh:mm:ss, e.g. 00:00:30)",
            _ when t == typeof(bool) => "true or false",
            _ when t == typeof(int) || t == typeof(long) || t == typeof(ushort) || t == typeof(uint) => "a whole number",
            _ when t == typeof(double) || t == typeof(float) => "a number",
            _ => "a string",
        };
    }

    private static string Parent(string path)
    {
        var colon = path.LastIndexOf(':');
        return colon < 0 ? string.Empty : path[..(colon + 1)];
    }

    /// <summary>The known name nearest to <paramref name="key"/> (edit distance at most 3), if any.</summary>
    internal static string? Closest(string key, IEnumerable<string> known)
    {
        string? best = null;
        var bestDistance = 4;
        foreach (var k in known)
        {
            var d = Distance(key.ToLowerInvariant(), k.ToLowerInvariant());
            if (d < bestDistance)
            {
                best = k;
                bestDistance = d;
            }
        }

        return best;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
