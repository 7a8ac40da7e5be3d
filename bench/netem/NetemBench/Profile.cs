using System.Text.Json;
using System.Text.Json.Serialization;
using NetemLink;

namespace NetemBench;

/// <summary>A link profile file (bench/netem/profiles/*.json). RTT is split half per direction.</summary>
public sealed record Profile
{
    public string Name { get; init; } = "";
    public string Description { get; init; } = "";
    public double RttMs { get; init; }
    public double JitterMs { get; init; }
    public bool Reorder { get; init; }
    public double LossPercent { get; init; }
    public double DuplicatePercent { get; init; }
    public double RateMbit { get; init; }
    public double? UpRateMbit { get; init; }
    public double QueueMs { get; init; } = 100;
    public long QueueBytes { get; init; }
    public GilbertElliott? GilbertElliott { get; init; }

    [JsonIgnore]
    public double EffectiveLossPercent => GilbertElliott is { } ge ? ge.MeanLoss * 100 : LossPercent;

    private static readonly JsonSerializerOptions s_json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public DirectionParameters Direction(bool up) => new()
    {
        DelayMs = RttMs / 2,
        JitterMs = JitterMs,
        Reorder = Reorder,
        Loss = LossPercent / 100,
        Burst = GilbertElliott,
        Duplicate = DuplicatePercent / 100,
        RateBitsPerSecond = (up && UpRateMbit is { } u ? u : RateMbit) * 1e6,
        QueueMs = QueueMs,
        QueueBytes = QueueBytes,
    };

    public static Profile Load(string directory, string name)
    {
        var path = File.Exists(name) ? name : Path.Combine(directory, name + ".json");
        var profile = JsonSerializer.Deserialize<Profile>(File.ReadAllText(path), s_json)
            ?? throw new InvalidDataException($"empty profile {path}");
        return string.IsNullOrEmpty(profile.Name) ? profile with { Name = Path.GetFileNameWithoutExtension(path) } : profile;
    }
}
