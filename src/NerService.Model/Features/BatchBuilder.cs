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
        // Every word is padded to the same width, whatever else is in the batch: the CNN's max runs over the padding
        // too, so a width that followed the batch's longest word would make one caller's results depend on the
        // other texts it shares a forward pass with.
        var charWidth = config.UseCharacters ? Math.Max(config.CharKernelWidth, config.MaxWordCharacters) : 1;

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
}
