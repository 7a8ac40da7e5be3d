using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel nft-rule: the nftables redirect rule of transparent mode.</summary>
internal static class NftRuleCommand
{
    public const string Table = "spiceaccel";

    public static Command Create()
    {
        var toPort = new Option<string?>("--to-port") { Description = "the client edge's transparent listener port", HelpName = "PORT" };
        var ports = new Option<string>("--ports") { Description = "SPICE ports to redirect", DefaultValueFactory = _ => "5900-5999", HelpName = "LOW-HIGH" };
        var excludeUid = new Option<string?>("--exclude-uid") { Description = "leave this user's connections alone", HelpName = "UID" };
        var install = new Option<bool>("--install") { Description = "install the table (atomically; needs CAP_NET_ADMIN)" };
        var remove = new Option<bool>("--remove") { Description = "remove the table" };
        var command = new Command("nft-rule", """
            print or install the nftables rule for transparent mode

            Prints (default), installs or removes the nftables table "inet spiceaccel" that redirects SPICE TCP
            connections, both from this host (output) and routed through it (prerouting), to the client edge's
            transparent listener on PORT. --exclude-uid leaves one user's connections alone (use it when a server edge
            or a plain SPICE client runs on the same host).
            """)
        {
            toPort, ports, excludeUid, install, remove,
        };
        command.SetAction((result, _) => RunAsync(result.GetValue(toPort), result.GetValue(ports)!, result.GetValue(excludeUid), result.GetValue(install), result.GetValue(remove)));
        return command;
    }

    private static async Task<int> RunAsync(string? toPortText, string ports, string? exclude, bool install, bool remove)
    {
        if (remove)
        {
            return await NftAsync($"delete table inet {Table}\n").ConfigureAwait(false);
        }

        if (toPortText is null || !ushort.TryParse(toPortText, NumberStyles.None, CultureInfo.InvariantCulture, out var toPort) || toPort == 0)
        {
            return Program.Fail("--to-port must be a TCP port");
        }

        var dash = ports.IndexOf('-', StringComparison.Ordinal);
        if (!(dash < 0
                ? ushort.TryParse(ports, NumberStyles.None, CultureInfo.InvariantCulture, out _)
                : ushort.TryParse(ports[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out _) && ushort.TryParse(ports[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return Program.Fail("--ports must be PORT or LOW-HIGH");
        }

        if (exclude is not null && !uint.TryParse(exclude, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return Program.Fail("--exclude-uid must be a numeric user id");
        }

        var rules = Ruleset(toPort, ports, exclude);
        if (!install)
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
