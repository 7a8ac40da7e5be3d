using System.CommandLine;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;
using Accel.Edge.Hosting;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel keygen: an ECDSA P-256 self-signed certificate and key for one edge, plus its pin.</summary>
internal static class KeygenCommand
{
    /// <summary>The user the packaged units run as.</summary>
    public const string ServiceUser = "spiceaccel";

    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "directory for NAME.crt and NAME.key", Required = true, HelpName = "DIR" };
        var name = new Option<string>("--name") { Description = "file name and certificate subject", DefaultValueFactory = _ => "edge" };
        var days = new Option<int>("--days") { Description = "validity in days", DefaultValueFactory = _ => 3650 };
        var force = new Option<bool>("--force") { Description = "replace existing files" };
        var owner = new Option<string?>("--owner")
        {
            Description = $"user that owns the files (the service user); run as root, defaults to '{ServiceUser}' when that user exists",
            HelpName = "USER",
        };
        var command = new Command("keygen", """
            make an edge identity (certificate + key) and print its pin

            Writes DIR/NAME.crt (PEM certificate) and DIR/NAME.key (PEM PKCS#8 key, mode 0600, owned by the service
            user so the edge can read it) and prints the SPKI SHA-256 pin to give to the other edge
            (Server:ClientPins or Client:ServerEdges:<name>:Pins). Existing files are kept unless --force is given.
            """)
        {
            output, name, days, force, owner,
        };
        command.SetAction(result => Run(result.GetRequiredValue(output), result.GetValue(name)!, result.GetValue(days), result.GetValue(force), result.GetValue(owner)));
        return command;
    }

    private static int Run(string dir, string name, int days, bool force, string? owner)
    {
        if (days <= 0)
        {
            return Program.Fail("--days must be a positive number");
        }

        UnixUser? user = null;
        if (owner is not null && !UnixUser.TryFind(owner, out user))
        {
            return Program.Fail($"--owner: no user '{owner}' on this host");
        }

        if (owner is null && Environment.IsPrivilegedProcess && UnixUser.TryFind(ServiceUser, out var service))
        {
            user = service;
        }

        var certPath = Path.Combine(dir, name + ".crt");
        var keyPath = Path.Combine(dir, name + ".key");
        if (!force && (File.Exists(certPath) || File.Exists(keyPath)))
        {
            return Program.Fail($"{certPath} or {keyPath} exists; use --force to replace them");
        }

        Directory.CreateDirectory(dir);
        var (certPem, keyPem) = Create(name, days);
        Write(certPath, certPem, (UnixFileMode)0x1A4, user);
        Write(keyPath, keyPem, UnixFileMode.UserRead | UnixFileMode.UserWrite, user);
        Console.Out.WriteLine($"certificate: {certPath}");
        Console.Out.WriteLine($"key:         {keyPath}");
        if (user is not null)
        {
            Console.Out.WriteLine($"owner:       {user.Name} (uid {user.Uid})");
        }

        Console.Out.WriteLine($"pin:         {PinCommand.PinOf(certPem)}");
        return 0;
    }

    /// <summary>Creates the file with its final mode and owner before any secret is written into it.</summary>
    private static void Write(string path, string text, UnixFileMode mode, UnixUser? owner)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = mode,
        });
        File.SetUnixFileMode(stream.SafeFileHandle, mode);
        owner?.Own(stream.SafeFileHandle, path);
        using var writer = new StreamWriter(stream);
        writer.Write(text);
    }

    public static (string CertificatePem, string KeyPem) Create(string name, int days)
    {
        var identity = EndpointIdentities.CreateSelfSigned(name, TimeSpan.FromDays(days));
        return (identity.CertificatePem, identity.PrivateKeyPem);
    }
}
