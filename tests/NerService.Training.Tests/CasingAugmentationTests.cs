using NerService.Model.Corpus;
using NerService.Training.Training;

namespace NerService.Training.Tests;

public class CasingAugmentationTests
{
    private static readonly ConllSentence[] Sentences =
        [.. Enumerable.Range(0, 400).Select(i => new ConllSentence(["Angela", "Merkel", $"visited{i}", "Paris"], ["B-PER", "E-PER", "O", "S-LOC"]))];

    [Fact]
    public void TheSameSeedGivesTheSameMixAndAnotherSeedAnother()
    {
        var first = CasingAugmentation.Mix(Sentences, 0.5, new Random(11));
        var again = CasingAugmentation.Mix(Sentences, 0.5, new Random(11));
        var other = CasingAugmentation.Mix(Sentences, 0.5, new Random(12));
        Assert.Equal(first.Select(s => string.Join(' ', s.Tokens)), again.Select(s => string.Join(' ', s.Tokens)));
        Assert.NotEqual(first.Select(s => string.Join(' ', s.Tokens)), other.Select(s => string.Join(' ', s.Tokens)));
    }

    [Fact]
    public void AboutTheAskedShareIsRecasedEvenlyOverTheThreeCasingsWithTagsUnchanged()
    {
        var mixed = CasingAugmentation.Mix(Sentences, 0.5, new Random(3));
        var counts = mixed.GroupBy(s => s.Tokens[0]).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(["ANGELA", "Angela", "angela"], counts.Keys.Order(StringComparer.Ordinal));
        // Title case leaves "Angela" as it is; the other two are told apart by the second word.
        var title = mixed.Count(s => s.Tokens[1] == "Merkel" && s.Tokens[2].StartsWith('V'));
        var original = counts["Angela"] - title;
        Assert.InRange(original, 160, 240);
        foreach (var share in new[] { counts["angela"], counts["ANGELA"], title })
            Assert.InRange(share, 40, 100);
        Assert.All(mixed, s => Assert.Equal(Sentences[0].Tags, s.Tags));
    }

    [Fact]
    public void SentencesPastTheAugmentableOnesAndAZeroShareAreLeftAlone()
    {
        var mixed = CasingAugmentation.Mix(Sentences, 1.0, new Random(5), augmentable: 100);
        Assert.All(mixed.Take(100), s => Assert.NotEqual("Angela Merkel visited", string.Concat(s.Tokens[0], " ", s.Tokens[1], " ", s.Tokens[2][..7])));
        Assert.All(mixed.Skip(100), s => Assert.Same(Sentences[0].Tokens[0], s.Tokens[0]));
        Assert.Same(Sentences, CasingAugmentation.Mix(Sentences, 0, new Random(5)));
    }
}
