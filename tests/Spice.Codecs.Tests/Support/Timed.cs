namespace Spice.Codecs.Tests.Support;

public static class Timed
{
    /// <summary>Runs a synchronous decoder call on the thread pool and fails if it does not finish in time (hang guard).</summary>
    public static async Task RunAsync(Action action, int seconds = 60)
    {
        await Task.Run(action, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(seconds), TestContext.Current.CancellationToken);
    }
}
