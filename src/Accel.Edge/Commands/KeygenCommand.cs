using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel keygen: an ECDSA P-256 self-signed certificate and key for one edge, plus its pin.</summary>
internal static class KeygenCommand
{
    private const string Help = """
        Usage: spiceaccel keygen --out DIR [--name NAME] [--days N] [--force]

        Writes DIR/NAME.crt (PEM certificate) and DIR/NAME.key (PEM PKCS#8 key, mode 0600) for one edge and prints
        the SPKI SHA-256 pin to give to the other edge (Server:ClientPins or Client:ServerEdges:<name>:Pins).
        NAME defaults to "edge", DAYS to 3650. Existing files are kept unless --force is given.
        """;

    public static int Run(string[] args)
    {
        var cl = new CommandLine(args, new HashSet<string> { "--force" }, new HashSet<string> { "--out", "--name", "--days" });
        if (cl.Help)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        var dir = cl.Require("--out");
        var name = cl.Get("--name") ?? "edge";
        var days = int.TryParse(cl.Get("--days") ?? "3650", out var d) && d > 0 ? d : throw new UsageException("--days must be a positive number");
        var certPath = Path.Combine(dir, name + ".crt");
        var keyPath = Path.Combine(dir, name + ".key");
        if (!cl.Has("--force") && (File.Exists(certPath) || File.Exists(keyPath)))
        {
            return Program.Fail($"{certPath} or {keyPath} exists; use --force to replace them");
        }

        Directory.CreateDirectory(dir);
        var (certPem, keyPem) = Create(name, days);
        File.WriteAllText(certPath, certPem);
        File.WriteAllText(keyPath, string.Empty);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.WriteAllText(keyPath, keyPem);
        Console.Out.WriteLine($"certificate: {certPath}");
        Console.Out.WriteLine($"key:         {keyPath}");
        Console.Out.WriteLine($"pin:         {PinCommand.PinOf(certPem)}");
        return 0;
    }

    public static (string CertificatePem, string KeyPem) Create(string name, int days)
    {
        var identity = EndpointIdentities.CreateSelfSigned(name, TimeSpan.FromDays(days));
        return (identity.CertificatePem, identity.PrivateKeyPem);
    }
}
