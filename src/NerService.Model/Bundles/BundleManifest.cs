using System.Text.Json.Serialization;
using NerService.Model.Corpus;
using NerService.Model.Network;

namespace NerService.Model.Bundles;

/// <summary>Everything a bundle says about itself, stored as <c>manifest.json</c> inside it.</summary>
public sealed record BundleManifest
{
    /// <summary>The bundle layout this code reads and writes. Bump it on any incompatible change.</summary>
    public const int CurrentFormatVersion = 1;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required string Name { get; init; }
    public required string Version { get; init; }

    [JsonConverter(typeof(JsonStringEnumConverter<TaggingScheme>))]
    public required TaggingScheme Scheme { get; init; }

    public required IReadOnlyList<string> Tags { get; init; }
    public required NetworkConfig Network { get; init; }
    public required TrainingMetadata Training { get; init; }

    /// <summary>How entity probabilities are calibrated; absent (older bundles) means temperature 1, the network's own.</summary>
    public ProbabilityCalibration? Calibration { get; init; }

    /// <summary>SHA-256 of every other entry of the bundle, to tell a corrupt file from a valid one.</summary>
    public IReadOnlyDictionary<string, string> EntryChecksums { get; init; } = new Dictionary<string, string>();
}

/// <summary>How, when and on what the model was trained, and how well it did.</summary>
public sealed record TrainingMetadata
{
    public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
    public string? SourceCommit { get; init; }

    /// <summary>File name to <c>sha256:...</c> of the training and validation data.</summary>
    public IReadOnlyDictionary<string, string> DataChecksums { get; init; } = new Dictionary<string, string>();

    /// <summary>Validation scores: <c>f1</c>, <c>precision</c>, <c>recall</c>, and <c>TYPE.f1</c> per entity type.</summary>
    public IReadOnlyDictionary<string, double> ValidationMetrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The options the training run used, as given.</summary>
    public IReadOnlyDictionary<string, string> Hyperparameters { get; init; } = new Dictionary<string, string>();

    public int Epochs { get; init; }
    public int BestEpoch { get; init; }
    public double TrainingSeconds { get; init; }
    public string? Machine { get; init; }
}

/// <summary>
/// Temperature scaling fitted after training (<c>NerService.Training calibrate</c>): entity probabilities are
/// computed from <c>softmax(logits / Temperature)</c>. Decoding always uses the network's own probabilities.
/// </summary>
public sealed record ProbabilityCalibration
{
    public double Temperature { get; init; } = 1;

    /// <summary>File name to <c>sha256:...</c> of the data the temperature was fitted on.</summary>
    public IReadOnlyDictionary<string, string> DataChecksums { get; init; } = new Dictionary<string, string>();

    /// <summary>What the fit measured there, e.g. <c>ece</c>, <c>brier</c>, <c>nll</c> before (<c>uncalibrated.*</c>) and after.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    public DateTimeOffset FittedAt { get; init; } = DateTimeOffset.UtcNow;
}
