using NerService.Model.Corpus;

namespace NerService.Training.Training;

/// <summary>
/// Re-cases a share of the training sentences, drawn anew each epoch, so that one model learns names from the words
/// themselves as well as from their capitals: text arrives lowercased (chat, queries, transcripts) or uppercased
/// (headlines, OCR) all the time.
/// </summary>
public static class CasingAugmentation
{
    private static readonly TextCasing[] Normalised = [TextCasing.Lower, TextCasing.Upper, TextCasing.Title];

    /// <summary>
    /// Each of the first <paramref name="augmentable"/> sentences is re-cased with probability <paramref name="share"/>
    /// (lower, upper or title with equal chance); the others, and those past <paramref name="augmentable"/> (already
    /// cased on purpose), are kept as they are. The same generator state gives the same mix.
    /// </summary>
    public static IReadOnlyList<ConllSentence> Mix(IReadOnlyList<ConllSentence> sentences, double share, Random random, int augmentable = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(share);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(share, 1);
        if (share == 0)
            return sentences;
        var mixed = new ConllSentence[sentences.Count];
        for (var i = 0; i < sentences.Count; i++)
        {
            // Two draws for every sentence, used or not, so one sentence's outcome never shifts another's.
            var recase = random.NextDouble() < share;
            var casing = Normalised[random.Next(Normalised.Length)];
            mixed[i] = recase && i < augmentable ? Recasing.Apply(sentences[i], casing) : sentences[i];
        }
        return mixed;
    }
}
