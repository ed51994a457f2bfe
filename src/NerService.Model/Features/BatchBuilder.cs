using NerService.Model.Network;
using static TorchSharp.torch;

namespace NerService.Model.Features;

/// <summary>Turns sentences of words into the tensors <see cref="TaggerNetwork"/> reads.</summary>
public sealed class BatchBuilder(WordVocabulary words, CharVocabulary characters, NetworkConfig config)
{
    /// <summary>Builds a batch padded to its longest sentence. The caller disposes the tensors (or a dispose scope does).</summary>
    public TaggerBatch Build(IReadOnlyList<IReadOnlyList<string>> sentences, Device device)
    {
        var batchSize = sentences.Count;
        var time = 1;
        foreach (var sentence in sentences)
            time = Math.Max(time, sentence.Count);
        var charWidth = config.UseCharacters ? CharacterWidth(sentences) : 1;

        var tokenCount = 0;
        foreach (var sentence in sentences)
            tokenCount += sentence.Count;
        var wordIds = new long[batchSize * time];
        var casingIds = new long[batchSize * time];
        var positions = new long[tokenCount];
        var charWords = new long[tokenCount];
        var distinct = new Dictionary<string, int>(StringComparer.Ordinal);
        var charIds = new List<long>(tokenCount * charWidth);
        var lengths = new long[batchSize];
        var token = 0;
        for (var b = 0; b < batchSize; b++)
        {
            var sentence = sentences[b];
            lengths[b] = Math.Max(1, sentence.Count);
            for (var t = 0; t < sentence.Count; t++, token++)
            {
                var word = sentence[t];
                var position = b * time + t;
                wordIds[position] = words.Lookup(word);
                casingIds[position] = Casing.Of(word);
                positions[token] = position;
                if (!distinct.TryGetValue(word, out var row))
                {
                    row = distinct.Count;
                    distinct.Add(word, row);
                    if (config.UseCharacters)
                    {
                        var n = Math.Min(word.Length, charWidth);
                        for (var c = 0; c < charWidth; c++)
                            charIds.Add(c < n ? characters.Lookup(word[c]) : CharVocabulary.PaddingId);
                    }
                }
                charWords[token] = row;
            }
        }
        if (!config.UseCharacters)
            charIds.AddRange(new long[distinct.Count * charWidth]);

        return new TaggerBatch(
            tensor(wordIds, [batchSize, time], ScalarType.Int64).to(device),
            tensor(charIds.ToArray(), [distinct.Count, charWidth], ScalarType.Int64).to(device),
            tensor(charWords, [tokenCount], ScalarType.Int64).to(device),
            tensor(positions, [tokenCount], ScalarType.Int64).to(device),
            tensor(casingIds, [batchSize, time], ScalarType.Int64).to(device),
            tensor(lengths, [batchSize], ScalarType.Int64));
    }

    // Each word's characters are padded to the same width whatever else is in its batch, or one caller's scores
    // would depend on the texts it shares a forward pass with: the CNN's max also runs over the padding. Padding
    // only matters up to the first position whose window holds no character (its value is the CNN's bias, and
    // any further padding repeats it), so a width of the batch's longest word + the kernel's reach gives every
    // word exactly what the full width gives it, with less work on batches of short words.
    private int CharacterWidth(IReadOnlyList<IReadOnlyList<string>> sentences)
    {
        var longest = 0;
        foreach (var sentence in sentences)
        {
            foreach (var word in sentence)
                longest = Math.Max(longest, word.Length);
        }
        var full = Math.Max(config.CharKernelWidth, config.MaxWordCharacters);
        return Math.Min(full, Math.Max(config.CharKernelWidth, longest + config.CharKernelWidth / 2 + 1));
    }
}
