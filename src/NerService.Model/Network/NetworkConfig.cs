using System.Text.Json.Serialization;

namespace NerService.Model.Network;

/// <summary>The recurrent cell of the encoder.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RecurrentCell>))]
public enum RecurrentCell
{
    /// <summary>Long short-term memory: forget, input (update) and output gates around a cell state.</summary>
    Lstm,

    /// <summary>Gated recurrent unit: update and reset gates, no separate cell state.</summary>
    Gru,

    /// <summary>Plain tanh recurrence, no gates.</summary>
    Rnn,
}

/// <summary>The tagger's architecture. Stored in every bundle; the weights only fit the configuration they were trained with.</summary>
public sealed record NetworkConfig
{
    public int WordVocabularySize { get; init; }
    public int WordDimension { get; init; } = 100;
    public int CharVocabularySize { get; init; }
    public bool UseCharacters { get; init; } = true;
    public int CharDimension { get; init; } = 30;
    public int CharFilters { get; init; } = 50;
    public int CharKernelWidth { get; init; } = 3;

    /// <summary>Longer words contribute only their first characters to the character features.</summary>
    public int MaxWordCharacters { get; init; } = 20;
    public bool UseCasing { get; init; } = true;
    public int CasingDimension { get; init; } = 10;
    public RecurrentCell Cell { get; init; } = RecurrentCell.Lstm;
    public bool Bidirectional { get; init; } = true;
    public int HiddenSize { get; init; } = 200;
    public int Layers { get; init; } = 1;
    public double Dropout { get; init; } = 0.5;
    public int TagCount { get; init; }

    public void Validate()
    {
        static void Positive(int value, string name)
        {
            if (value <= 0)
                throw new InvalidDataException($"Network configuration: {name} must be positive, not {value}.");
        }
        Positive(WordVocabularySize, nameof(WordVocabularySize));
        Positive(WordDimension, nameof(WordDimension));
        Positive(HiddenSize, nameof(HiddenSize));
        Positive(Layers, nameof(Layers));
        Positive(TagCount, nameof(TagCount));
        if (UseCharacters)
        {
            Positive(CharVocabularySize, nameof(CharVocabularySize));
            Positive(CharDimension, nameof(CharDimension));
            Positive(CharFilters, nameof(CharFilters));
            Positive(CharKernelWidth, nameof(CharKernelWidth));
            Positive(MaxWordCharacters, nameof(MaxWordCharacters));
        }
        if (UseCasing)
            Positive(CasingDimension, nameof(CasingDimension));
        if (Dropout is < 0 or >= 1)
            throw new InvalidDataException($"Network configuration: Dropout must be in [0, 1), not {Dropout}.");
    }
}
