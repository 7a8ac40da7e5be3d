using System.Globalization;
using System.Text;

namespace Accel.Edge.Demo;

/// <summary>
/// The Xorg configuration that makes Xspice (Xorg + the spiceqxl driver) start here: the driver crashes without
/// NumHeads, and the Xspice wrapper script crashes, so Xorg is started directly with this file
/// (shared/reference/lab-facts.md). One source for the demo, the end-to-end tests, the Core tests and bench/netem,
/// which link this file.
/// </summary>
internal static class XspiceConfig
{
    /// <param name="port">SPICE TCP port.</param>
    /// <param name="deviceOptions">More spiceqxl Device options (SpiceAddr, SpiceImageCompression, SpiceTlsPort, …).</param>
    /// <param name="resolution">Screen mode, e.g. 1024x768.</param>
    public static string Build(int port, IEnumerable<KeyValuePair<string, string>>? deviceOptions = null, string resolution = "1024x768")
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $$"""
            Section "Device"
              Identifier "XSPICE"
              Driver "spiceqxl"
              Option "SpicePort" "{{port}}"
              Option "SpiceDisableTicketing" "True"
              Option "NumHeads" "1"
              Option "FrameBufferSize" "16"
              Option "SurfaceBufferSize" "128"
              Option "CommandBufferSize" "128"

            """);
        foreach (var (key, value) in deviceOptions ?? [])
        {
            sb.Append(CultureInfo.InvariantCulture, $"  Option \"{key}\" \"{value}\"\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $$"""
            EndSection
            Section "InputDevice"
              Identifier "XSPICE POINTER"
              Driver "xspice pointer"
            EndSection
            Section "InputDevice"
              Identifier "XSPICE KEYBOARD"
              Driver "xspice keyboard"
            EndSection
            Section "Monitor"
              Identifier "M"
            EndSection
            Section "Screen"
              Identifier "S"
              Monitor "M"
              Device "XSPICE"
              DefaultDepth 24
              SubSection "Display"
                Depth 24
                Virtual 1280 1024
                Modes "{{resolution}}"
              EndSubSection
            EndSection
            Section "ServerLayout"
              Identifier "L"
              Screen "S"
              InputDevice "XSPICE KEYBOARD"
              InputDevice "XSPICE POINTER"
            EndSection
            Section "ServerFlags"
              Option "AutoAddDevices" "False"
            EndSection

            """);
        return sb.ToString();
    }
}
