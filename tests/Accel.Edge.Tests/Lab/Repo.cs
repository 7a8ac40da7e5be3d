using System.Diagnostics;

namespace Accel.Edge.Tests.Lab;

internal static class Repo
{
    /// <summary>The repository root: the nearest directory above the test binaries that holds SpiceAccel.sln.</summary>
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SpiceAccel.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new DirectoryNotFoundException("repository root");
        }
    }
}

internal static class Poll
{
    /// <summary>Polls an observable condition until it holds or the deadline passes (clients connect asynchronously).</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string failure)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(250);
        }

        Assert.Fail(failure + $" within {timeout.TotalSeconds} s");
    }
}
