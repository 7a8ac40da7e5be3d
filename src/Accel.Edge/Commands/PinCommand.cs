using System.CommandLine;
using System.Security.Cryptography;
using Accel.Core.Transport;
using Accel.Core.Transport.Tls;

namespace Accel.Edge.Commands;

/// <summary>spiceaccel pin: the base64 SHA-256 of a certificate's SubjectPublicKeyInfo.</summary>
internal static class PinCommand
{
    public static Command Create()
    {
        var cert = new Option<string>("--cert") { Description = "PEM certificate", Required = true, HelpName = "FILE" };
        var command = new Command("pin", "print the SPKI SHA-256 pin of a certificate (the value the other edge pins)") { cert };
        command.SetAction(result => Run(result.GetRequiredValue(cert)));
        return command;
    }

    private static int Run(string path)
    {
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
