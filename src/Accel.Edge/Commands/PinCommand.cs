using System.Security.Cryptography;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel pin: the base64 SHA-256 of a certificate's SubjectPublicKeyInfo.</summary>
internal static class PinCommand
{
    private const string Help = """
        Usage: spiceaccel pin --cert FILE

        Prints the base64 SHA-256 of the certificate's SubjectPublicKeyInfo: the value the other edge pins.
        """;

    public static int Run(string[] args)
    {
        var cl = new CommandLine(args, new HashSet<string>(), new HashSet<string> { "--cert" });
        if (cl.Help)
        {
            Console.Out.WriteLine(Help);
            return 0;
        }

        var path = cl.Require("--cert");
        if (!File.Exists(path))
        {
            return Program.Fail($"'{path}' does not exist");
        }

        try
        {
            Console.Out.WriteLine(PinOf(File.ReadAllText(path)));
            return 0;
        }
        catch (CryptographicException ex)
        {
            return Program.Fail($"'{path}' is not a PEM certificate: {ex.Message}");
        }
    }

    public static string PinOf(string certificatePem) => EndpointIdentities.ComputeSpkiSha256Base64(certificatePem);
}
