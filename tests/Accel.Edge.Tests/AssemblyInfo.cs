// The edge tests drive Linux namespaces, nftables and Xspice: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
