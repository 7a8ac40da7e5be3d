using System.Diagnostics;
using System.Globalization;

namespace Accel.Core.Tests.TestSupport;

/// <summary>The TransportPeer tool in a child process: a server the test can kill. Always killed on dispose.</summary>
public sealed class TransportPeerProcess : IDisposable
{
    private readonly Process _process;

    private TransportPeerProcess(Process process, int port, byte[] pin)
    {
        _process = process;
        Port = port;
        ServerPin = pin;
    }

    public int Port { get; }

    public byte[] ServerPin { get; }

    public static async Task<TransportPeerProcess> StartAsync(string engine, byte[] clientPin, TimeSpan idleTimeout, CancellationToken cancellationToken)
    {
        var peer = Path.Combine(AppContext.BaseDirectory, "TransportPeer.dll");
        Assert.True(File.Exists(peer), "TransportPeer.dll is not next to the tests");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(peer);
        info.ArgumentList.Add("--engine");
        info.ArgumentList.Add(engine);
        info.ArgumentList.Add("--trust-pin");
        info.ArgumentList.Add(Convert.ToHexString(clientPin));
        info.ArgumentList.Add("--idle-ms");
        info.ArgumentList.Add(((int)idleTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture));
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start TransportPeer");
        try
        {
            var line = await process.StandardOutput.ReadLineAsync(cancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            var parts = line?.Split(' ');
            if (parts is not { Length: 3 } || parts[0] != "LISTEN")
            {
                throw new InvalidOperationException("TransportPeer said: " + line);
            }

            return new TransportPeerProcess(process, int.Parse(parts[1], CultureInfo.InvariantCulture), Convert.FromHexString(parts[2]));
        }
        catch
        {
            process.Kill(true);
            process.Dispose();
            throw;
        }
    }

    public void Kill()
    {
        _process.Kill(true);
        _process.WaitForExit(TimeSpan.FromSeconds(10));
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(true);
                _process.WaitForExit(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }
}
