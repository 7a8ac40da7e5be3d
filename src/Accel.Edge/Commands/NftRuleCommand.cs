using System.Diagnostics;
using System.Globalization;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel nft-rule: the nftables redirect rule of transparent mode.</summary>
internal static class NftRuleCommand
{
    public const string Table = "spiceaccel";

    private const string Help = """
        Usage: spiceaccel nft-rule --to-port PORT [--ports LOW-HIGH] [--exclude-uid UID] [--install | --remove]

        Prints (default), installs or removes the nftables table "inet spiceaccel" that redirects SPICE TCP
        connections (ports 5900-5999 unless --ports says otherwise), both from this host (output) and routed
        through it (prerouting), to the client edge's transparent listener on PORT. --exclude-uid leaves one
        user's connections alone (use it when a server edge or a plain SPICE client runs on the same host).
        Installing replaces the table atomically; needs CAP_NET_ADMIN.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var cl = new CommandLine(args, new HashSet<string> { "--install", "--remove" }, new HashSet<string> { "--to-port", "--ports", "--exclude-uid" });
        if (cl.Help)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        if (cl.Has("--remove"))
        {
            return await NftAsync($"delete table inet {Table}\n").ConfigureAwait(false);
        }

        if (!ushort.TryParse(cl.Require("--to-port"), NumberStyles.None, CultureInfo.InvariantCulture, out var toPort) || toPort == 0)
        {
            return Program.Fail("--to-port must be a TCP port");
        }

        var ports = cl.Get("--ports") ?? "5900-5999";
        var dash = ports.IndexOf('-', StringComparison.Ordinal);
        if (!(dash < 0
                ? ushort.TryParse(ports, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                : ushort.TryParse(ports[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out _) && ushort.TryParse(ports[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return Program.Fail("--ports must be PORT or LOW-HIGH");
        }

        var exclude = cl.Get("--exclude-uid");
        if (exclude is not null && !uint.TryParse(exclude, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return Program.Fail("--exclude-uid must be a numeric user id");
        }

        var rules = Ruleset(toPort, ports, exclude);
        if (!cl.Has("--install"))
        {
            Console.Out.Write(rules);
            return 0;
        }

        // "add table" then "delete table" makes the replacement idempotent in one atomic transaction.
        return await NftAsync($"add table inet {Table}\ndelete table inet {Table}\n" + rules).ConfigureAwait(false);
    }

    public static string Ruleset(ushort toPort, string ports, string? excludeUid)
    {
        var skip = excludeUid is null ? string.Empty : $"meta skuid {excludeUid} return\n        ";
        return $$"""
            table inet {{Table}} {
                chain output {
                    type nat hook output priority -100; policy accept;
                    {{skip}}meta l4proto tcp tcp dport {{ports}} redirect to :{{toPort}}
                }
                chain prerouting {
                    type nat hook prerouting priority -100; policy accept;
                    meta l4proto tcp tcp dport {{ports}} redirect to :{{toPort}}
                }
            }

            """;
    }

    private static async Task<int> NftAsync(string script)
    {
        var psi = new ProcessStartInfo("nft", "-f -")
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process? p;
        try
        {
            p = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return Program.Fail("cannot run nft (install nftables): " + ex.Message);
        }

        if (p is null)
        {
            return Program.Fail("cannot run nft");
        }

        using (p)
        {
            await p.StandardInput.WriteAsync(script).ConfigureAwait(false);
            p.StandardInput.Close();
            var err = await p.StandardError.ReadToEndAsync().ConfigureAwait(false);
            await p.WaitForExitAsync().ConfigureAwait(false);
            if (p.ExitCode != 0)
            {
                return Program.Fail("nft failed: " + err.Trim());
            }
        }

        return 0;
    }
}
