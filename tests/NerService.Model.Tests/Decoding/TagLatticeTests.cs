using CsCheck;
using NerService.Model.Corpus;
using NerService.Model.Decoding;

namespace NerService.Model.Tests.Decoding;

public class TagLatticeTests
{
    [Fact]
    public void SpanProbabilitiesOfATwoTokenLatticeMatchTheHandCount()
    {
        // IOB2 with one type: O, B-PER, I-PER. The allowed paths over two tokens are OO, OB, BO, BB, BI
        // (I- cannot start a sentence or follow O), weighing .30, .12, .15, .06, .09 of 0.72 in all.
        var tags = TagSet.For(TaggingScheme.Iob2, ["PER"]);
        float[] scores = [Ln(.6), Ln(.3), Ln(.1), Ln(.5), Ln(.2), Ln(.3)];

        var lattice = TagLattice.Build(scores, tags);

        Assert.Equal(Math.Log(0.72), lattice.LogPartition, 6);
        Assert.Equal(0.09 / 0.72, lattice.SpanProbability("PER", 0, 2), 6);
        Assert.Equal((0.15 + 0.06) / 0.72, lattice.SpanProbability("PER", 0, 1), 6); // B then not I
        Assert.Equal((0.12 + 0.06) / 0.72, lattice.SpanProbability("PER", 1, 2), 6);
        Assert.Equal((0.30 + 0.12) / 0.72, 1 - lattice.EntityProbability(0), 6);
    }

    [Theory]
    [InlineData(TaggingScheme.Iob2, 5)]
    [InlineData(TaggingScheme.Bioes, 4)]
    public void SpanAndTagProbabilitiesEqualThoseFromEnumeratingEveryAllowedPath(TaggingScheme scheme, int length)
    {
        var tags = TagSet.For(scheme, ["LOC", "PER"]);
        var k = tags.Count;
        var paths = AllPaths(length, k).Where(p => Allowed(p, tags)).ToList();
        Gen.Select(Gen.Float[-6f, 0f].Array[length * k], Gen.OneOfConst(1.0, 0.5, 2.7)).Sample((raw, temperature) =>
        {
            var scores = LogSoftmaxRows(raw, k, 1).Select(v => (float)v).ToArray();
            var tempered = LogSoftmaxRows(scores, k, temperature);
            var lattice = TagLattice.Build(scores, tags, temperature);

            var weights = paths.Select(p => Math.Exp(p.Select((tag, t) => tempered[t * k + tag]).Sum())).ToList();
            var total = weights.Sum();
            Assert.Equal(Math.Log(total), lattice.LogPartition, 9);
            var spanMass = new Dictionary<TokenSpan, double>();
            for (var i = 0; i < paths.Count; i++)
            {
                foreach (var span in TagDecoder.Spans(paths[i], tags))
                    spanMass[span] = spanMass.GetValueOrDefault(span) + weights[i];
            }
            foreach (var label in tags.EntityTypes)
            {
                for (var start = 0; start < length; start++)
                {
                    for (var end = start + 1; end <= length; end++)
                    {
                        var expected = spanMass.GetValueOrDefault(new TokenSpan(label, start, end)) / total;
                        Assert.Equal(expected, lattice.SpanProbability(label, start, end), 9);
                    }
                }
            }
            for (var t = 0; t < length; t++)
            {
                for (var tag = 0; tag < k; tag++)
                {
                    var expected = Enumerable.Range(0, paths.Count).Where(i => paths[i][t] == tag).Sum(i => weights[i]) / total;
                    Assert.Equal(expected, lattice.TagProbability(t, tag), 9);
                }
            }
        }, iter: 40);
    }

    [Fact]
    public void ExtremeScoresGiveFiniteProbabilitiesThatStillSumToOne()
    {
        // Token 0 is almost surely O and token 1 almost surely I-PER, which cannot follow O: every allowed path is
        // improbable, which must not underflow into NaN or zero.
        var tags = TagSet.For(TaggingScheme.Bioes, ["LOC", "PER"]);
        var k = tags.Count;
        var scores = Enumerable.Repeat(-900f, 3 * k).ToArray();
        scores[tags.IndexOf("O")] = 0;
        scores[k + tags.IndexOf("I-PER")] = 0;
        scores[2 * k + tags.IndexOf("E-PER")] = 0;

        var lattice = TagLattice.Build(scores, tags);

        Assert.True(double.IsFinite(lattice.LogPartition));
        for (var t = 0; t < 3; t++)
            Assert.Equal(1, Enumerable.Range(0, k).Sum(tag => lattice.TagProbability(t, tag)), 9);
        var spans = tags.EntityTypes.SelectMany(l => new[] { (0, 3), (1, 3), (0, 1), (2, 3) }.Select(s => lattice.SpanProbability(l, s.Item1, s.Item2)));
        Assert.All(spans, p => Assert.InRange(p, 0, 1));
    }

    [Fact]
    public void AlternativesNameTheOtherLabelsAndTheBestOtherBoundaries()
    {
        // "New York Times": LOC over the first two tokens or ORG over all three, nearly even.
        var tags = TagSet.For(TaggingScheme.Bioes, ["LOC", "ORG"]);
        var k = tags.Count;
        var scores = Enumerable.Repeat(-8f, 3 * k).ToArray();
        void Set(int t, string tag, double p) => scores[t * k + tags.IndexOf(tag)] = Ln(p);
        Set(0, "B-LOC", .5); Set(0, "B-ORG", .5);
        Set(1, "E-LOC", .5); Set(1, "I-ORG", .5);
        Set(2, "O", .5); Set(2, "E-ORG", .5);
        var lattice = TagLattice.Build(LogSoftmaxRows(scores, k, 1).Select(v => (float)v).ToArray(), tags);

        var loc = lattice.SpanProbability("LOC", 0, 2);
        var other = Assert.Single(lattice.Labels(0, 2, 0.0001, 3, except: "LOC"));
        Assert.Equal("ORG", other.Label);
        Assert.True(other.Probability < 0.01);
        var best = lattice.BestOverlapping(0, 2, 10, 0.01);
        Assert.NotNull(best);
        Assert.Equal(("ORG", 0, 3), (best.Value.Label, best.Value.Start, best.Value.End));
        Assert.InRange(best.Value.Probability + loc, 0.95, 1.0);
    }

    private static float Ln(double p) => (float)Math.Log(p);

    private static double[] LogSoftmaxRows(float[] raw, int k, double temperature)
    {
        var result = new double[raw.Length];
        for (var row = 0; row < raw.Length / k; row++)
        {
            var values = raw.Skip(row * k).Take(k).Select(v => v / temperature).ToArray();
            var max = values.Max();
            var normaliser = max + Math.Log(values.Sum(v => Math.Exp(v - max)));
            for (var j = 0; j < k; j++)
                result[row * k + j] = values[j] - normaliser;
        }
        return result;
    }

    private static bool Allowed(int[] path, TagSet tags) =>
        tags.CanStart[path[0]] && tags.CanEnd[path[^1]] && Enumerable.Range(1, path.Length - 1).All(t => tags.Allowed[path[t - 1], path[t]]);

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
