using CsCheck;
using NerService.Model.Corpus;
using NerService.Model.Decoding;

namespace NerService.Model.Tests.Decoding;

public class TagDecoderTests
{
    private static readonly string[] Types = ["LOC", "MISC", "ORG", "PER"];

    [Theory]
    [InlineData(TaggingScheme.Iob2)]
    [InlineData(TaggingScheme.Bioes)]
    public void ConstrainedDecodingNeverProducesATransitionTheSchemeForbids(TaggingScheme scheme)
    {
        var tags = TagSet.For(scheme, Types);
        Gen.Int[1, 12].SelectMany(length => Gen.Float[-8f, 0f].Array[length * tags.Count].Select(scores => (length, scores)))
            .Sample(sample =>
            {
                var path = TagDecoder.Constrained(sample.scores, tags);
                Assert.True(tags.CanStart[path[0]], $"starts with {tags.Tags[path[0]]}");
                Assert.True(tags.CanEnd[path[^1]], $"ends with {tags.Tags[path[^1]]}");
                for (var t = 1; t < path.Length; t++)
                    Assert.True(tags.Allowed[path[t - 1], path[t]], $"{tags.Tags[path[t - 1]]} -> {tags.Tags[path[t]]}");
            }, iter: 2000);
    }

    [Fact]
    public void ConstrainedDecodingFindsTheBestAllowedPathByExhaustiveSearch()
    {
        var tags = TagSet.For(TaggingScheme.Bioes, ["PER"]); // O, B, I, E, S
        Gen.Float[-5f, 0f].Array[4 * tags.Count].Sample(scores =>
        {
            var path = TagDecoder.Constrained(scores, tags);
            var best = float.NegativeInfinity;
            foreach (var candidate in AllPaths(4, tags.Count))
            {
                if (!tags.CanStart[candidate[0]] || !tags.CanEnd[candidate[^1]])
                    continue;
                if (Enumerable.Range(1, 3).Any(t => !tags.Allowed[candidate[t - 1], candidate[t]]))
                    continue;
                best = Math.Max(best, Score(candidate, scores, tags.Count));
            }
            Assert.Equal(best, Score(path, scores, tags.Count), 4);
        }, iter: 300);
    }

    [Fact]
    public void GreedyDecodingCanBreakASpanWhereConstrainedDecodingRepairsIt()
    {
        var tags = TagSet.For(TaggingScheme.Iob2, Types);
        var o = tags.IndexOf("O");
        var iPer = tags.IndexOf("I-PER");
        var bPer = tags.IndexOf("B-PER");
        // Token 0 leans to O, token 1 to I-PER: greedily "O I-PER", an I- that continues nothing.
        var scores = Enumerable.Repeat(-10f, 2 * tags.Count).ToArray();
        scores[o] = -0.3f;
        scores[bPer] = -1.5f;
        scores[tags.Count + iPer] = -0.1f;
        scores[tags.Count + o] = -3f;

        var greedy = TagDecoder.Greedy(scores, tags.Count);
        Assert.Equal([o, iPer], greedy);
        var constrained = TagDecoder.Constrained(scores, tags);
        Assert.Equal([bPer, iPer], constrained);
        var span = Assert.Single(TagDecoder.Spans(constrained, tags));
        Assert.Equal(("PER", 0, 2), (span.Label, span.Start, span.End));
    }

    [Fact]
    public void SpansReadBrokenGreedyPathsTheWayConllevalDoes()
    {
        var tags = TagSet.For(TaggingScheme.Bioes, ["LOC", "PER"]);
        int[] path = [tags.IndexOf("I-PER"), tags.IndexOf("E-PER"), tags.IndexOf("E-LOC"), tags.IndexOf("O"), tags.IndexOf("S-PER"), tags.IndexOf("S-PER")];
        var spans = TagDecoder.Spans(path, tags).Select(s => (s.Label, s.Start, s.End)).ToArray();
        Assert.Equal([("PER", 0, 2), ("LOC", 2, 3), ("PER", 4, 5), ("PER", 5, 6)], spans);
        var labels = path.Select(k => tags.Tags[k]).ToArray();
        Assert.Equal(TagSequence.Spans(labels, TaggingScheme.Bioes).Select(s => (s.Label, s.Start, s.End)), spans);
    }

    private static float Score(int[] path, float[] scores, int k) => path.Select((tag, t) => scores[t * k + tag]).Sum();

    private static IEnumerable<int[]> AllPaths(int length, int k)
    {
        var total = (int)Math.Pow(k, length);
        for (var n = 0; n < total; n++)
        {
            var path = new int[length];
            var rest = n;
            for (var t = 0; t < length; t++)
            {
                path[t] = rest % k;
                rest /= k;
            }
            yield return path;
        }
    }
}
