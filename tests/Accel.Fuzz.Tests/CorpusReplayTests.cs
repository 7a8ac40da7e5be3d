namespace Accel.Fuzz.Tests;

/// <summary>
/// In process, without instrumentation: every target has a committed seed corpus, and every committed input (seeds and
/// the crashes found and fixed) runs through its target without an exception the target does not document.
/// </summary>
public sealed class CorpusReplayTests
{
    public static TheoryData<string> Targets => [.. FuzzTargets.All.Select(t => t.Name)];

    [Fact]
    public void CorpusFolders_OnePerTarget_NoStrays()
    {
        var folders = Directory.GetDirectories(Path.GetDirectoryName(RepoPaths.Corpus("x"))!).Select(Path.GetFileName).Order();
        Assert.Equal(FuzzTargets.All.Select(t => t.Name).Order(), folders);
        Assert.Equal(FuzzTargets.All.Count, FuzzTargets.All.Select(t => t.Name).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void CommittedInputs_Replay_NoCrash(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var files = Directory.GetFiles(RepoPaths.Corpus(name)).ToList();
        Assert.NotEmpty(files);
        if (Directory.Exists(RepoPaths.Crashes(name)))
        {
            files.AddRange(Directory.GetFiles(RepoPaths.Crashes(name)));
        }

        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            var thrown = Record.Exception(() => target.Run(input));
            Assert.True(thrown is null, $"{name} {Path.GetFileName(file)}: {thrown}");
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Seeds_WrittenByTheProduct_ReplayWithoutCrash(string name)
    {
        var target = FuzzTargets.Find(name)!;
        var seeds = target.Seeds().ToList();
        Assert.NotEmpty(seeds);
        foreach (var seed in seeds)
        {
            target.Run(seed);
        }
    }
}
