using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using Accel.Core.Transport.Ngtcp2;
using Accel.Core.Transport.Ngtcp2.Native;

namespace Accel.Core.Tests.Transport;

/// <summary>
/// ABI guard for the hand-written binding: a C program compiled against /usr/include/ngtcp2 prints sizeof/offsetof
/// of every mirrored struct and field and the value of every mirrored constant; the C# side must agree. Missing gcc
/// or headers is a failure (eng/setup.sh installs them), not a skip.
/// </summary>
public sealed class Ngtcp2AbiTests
{
    private static readonly Type[] s_structs = typeof(Ngtcp2Native).Assembly.GetTypes()
        .Where(t => t.Namespace == typeof(Ngtcp2Native).Namespace && t.IsValueType && !t.IsEnum && !t.IsNested)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();

    [Fact]
    public void Structs_EveryMirroredField_MatchesTheCLayout()
    {
        Assert.True(s_structs.Length >= 15, $"expected the mirrored structs, found {s_structs.Length}");
        var c = new StringBuilder();
        foreach (var type in s_structs)
        {
            var cName = CName(type);
            c.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"S {type.Name} %zu\\n\", sizeof({cName}));");
            foreach (var field in Fields(type))
            {
                c.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"O {type.Name}.{field.Name} %zu\\n\", offsetof({cName}, {field.Name}));");
            }
        }

        var native = Parse(CompileAndRun(c.ToString()));
        var mismatches = new List<string>();
        foreach (var type in s_structs)
        {
            Compare(mismatches, native, type.Name, Marshal.SizeOf(type));
            foreach (var field in Fields(type))
            {
                Compare(mismatches, native, type.Name + "." + field.Name, (long)Marshal.OffsetOf(type, field.Name));
            }
        }

        Assert.True(native.Count > 150, $"only {native.Count} values came back from C");
        Assert.Empty(mismatches);
    }

    [Fact]
    public void Constants_EveryMirroredValue_MatchesTheHeaders()
    {
        var constants = typeof(Ngtcp2Native).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && (f.Name.StartsWith("NGTCP2_", StringComparison.Ordinal) || f.Name.StartsWith("GNUTLS_", StringComparison.Ordinal)))
            .Concat(typeof(LibcNative).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
            .ToArray();
        var c = new StringBuilder();
        foreach (var constant in constants)
        {
            c.AppendLine(CultureInfo.InvariantCulture, $"  printf(\"C {constant.Name} %lld\\n\", (long long)({constant.Name}));");
        }

        var native = Parse(CompileAndRun(c.ToString()));
        var mismatches = new List<string>();
        foreach (var constant in constants)
        {
            Compare(mismatches, native, constant.Name, Convert.ToInt64(constant.GetRawConstantValue(), CultureInfo.InvariantCulture));
        }

        Assert.True(constants.Length > 40);
        Assert.Empty(mismatches);
    }

    [Fact]
    public void Sonames_Pinned_AreTheOnesInstalled()
    {
        Assert.Equal(["libngtcp2.so.16", "libngtcp2_crypto_gnutls.so.8", "libgnutls.so.30"], Ngtcp2Engine.NativeLibraries);
        foreach (var name in Ngtcp2Engine.NativeLibraries)
        {
            Assert.True(NativeLibrary.TryLoad(name, out var handle), name + " does not load");
            NativeLibrary.Free(handle);
        }
    }

    private static IEnumerable<FieldInfo> Fields(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Instance);

    private static string CName(Type type) =>
        type.Name.StartsWith("ngtcp2_", StringComparison.Ordinal) || type.Name.StartsWith("gnutls_", StringComparison.Ordinal) ? type.Name : "struct " + type.Name;

    private static void Compare(List<string> mismatches, Dictionary<string, long> native, string key, long managed)
    {
        if (!native.TryGetValue(key, out var value))
        {
            mismatches.Add(key + ": missing from the C output");
        }
        else if (value != managed)
        {
            mismatches.Add($"{key}: C {value}, C# {managed}");
        }
    }

    private static Dictionary<string, long> Parse(string output)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ');
            values[parts[1]] = long.Parse(parts[2], CultureInfo.InvariantCulture);
        }

        return values;
    }

    private static string CompileAndRun(string body)
    {
        var dir = Directory.CreateTempSubdirectory("ngtcp2-abi-");
        try
        {
            var source = Path.Combine(dir.FullName, "abi.c");
            var binary = Path.Combine(dir.FullName, "abi");
            File.WriteAllText(source, $$"""
                #define _GNU_SOURCE
                #include <stdio.h>
                #include <stddef.h>
                #include <errno.h>
                #include <sys/uio.h>
                #include <netinet/in.h>
                #include <sys/socket.h>
                #include <ngtcp2/ngtcp2.h>
                #include <ngtcp2/ngtcp2_crypto.h>
                #include <ngtcp2/ngtcp2_crypto_gnutls.h>
                #include <gnutls/gnutls.h>
                int main(void) {
                {{body}}
                  return 0;
                }
                """);
            Assert.True(File.Exists("/usr/include/ngtcp2/ngtcp2.h"), "ngtcp2 headers are missing: run eng/setup.sh (libngtcp2-dev)");
            var (code, output) = Run("gcc", $"-std=c11 -o \"{binary}\" \"{source}\"");
            Assert.True(code == 0, "gcc failed: " + output);
            (code, output) = Run(binary, string.Empty);
            Assert.True(code == 0, "the ABI probe failed: " + output);
            return output;
        }
        finally
        {
            dir.Delete(true);
        }
    }

    private static (int Code, string Output) Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start " + file);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill(true);
            throw new TimeoutException(file + " did not finish");
        }

        return (process.ExitCode, stdout.Result + stderr.Result);
    }
}
