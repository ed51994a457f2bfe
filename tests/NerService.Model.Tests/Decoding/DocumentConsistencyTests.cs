using CsCheck;
using NerService.Model.Corpus;
using NerService.Model.Decoding;

namespace NerService.Model.Tests.Decoding;

public class DocumentConsistencyTests
{
    private static readonly TagSet Bioes = TagSet.For(TaggingScheme.Bioes, ["LOC", "MISC", "ORG", "PER"]);
    private static readonly float Sure = MathF.Log(0.99f);
    private static readonly float Unsure = MathF.Log(0.6f);

    [Fact]
    public void ASurnameAfterAConfidentFullNameIsTaggedAsThePerson()
    {
        var (paths, scores, sentences) = Document(Bioes,
            (["John", "Smith", "arrived", "."], ["B-PER", "E-PER", "O", "O"], Sure),
            (["Smith", "said", "so", "."], ["O", "O", "O", "O"], Unsure));
        DocumentConsistency.Apply(sentences, paths, scores, Bioes);
        Assert.Equal(["S-PER", "O", "O", "O"], Tags(paths[1], Bioes));
        Assert.Equal(["B-PER", "E-PER", "O", "O"], Tags(paths[0], Bioes));
    }

    [Fact]
    public void AConfidentLabelRelabelsAnUnsureMentionOfTheSameString()
    {
        var (paths, scores, sentences) = Document(Bioes,
            (["Leeds", "beat", "Chelsea", "2-1"], ["S-ORG", "O", "S-ORG", "O"], Sure),
            (["Chelsea", "3", "1", "0"], ["S-LOC", "O", "O", "O"], Unsure));
        DocumentConsistency.Apply(sentences, paths, scores, Bioes);
        Assert.Equal(["S-ORG", "O", "O", "O"], Tags(paths[1], Bioes));
    }

    [Fact]
    public void NothingChangesWithoutAConfidentMentionOrWhenConfidentMentionsDisagree()
    {
        var (paths, scores, sentences) = Document(Bioes,
            (["Japan", "beat", "China"], ["S-LOC", "O", "S-LOC"], Sure),
            (["Japan", "coach", "said"], ["S-ORG", "O", "O"], Sure),
            (["Japan", "and", "China", "talk"], ["O", "O", "O", "O"], Unsure));
        DocumentConsistency.Apply(sentences, paths, scores, Bioes, minConfidence: 0.9);
        // "Japan" is confidently LOC and ORG: ambiguous, left alone; "China" is decided.
        Assert.Equal(["O", "O", "S-LOC", "O"], Tags(paths[2], Bioes));
        Assert.Equal(["S-ORG", "O", "O"], Tags(paths[1], Bioes));
    }

    [Theory]
    [InlineData(TaggingScheme.Bioes)]
    [InlineData(TaggingScheme.Iob2)]
    public void ItNeverTurnsAValidTagSequenceIntoAnInvalidOne(TaggingScheme scheme)
    {
        var tags = TagSet.For(scheme, ["LOC", "ORG", "PER"]);
        var words = new[] { "Smith", "John", "Paris", "the", "Leeds", "of", "Bank" };
        var sentence = Gen.Int[1, 8].SelectMany(length => Gen.Int[0, words.Length - 1].Array[length]
            .Select(Gen.Float[-3f, 0f].Array[length * tags.Count], (w, s) => (Words: w.Select(i => words[i]).ToArray(), Scores: s)));
        sentence.Array[1, 5].Sample(document =>
        {
            var sentences = document.Select(d => (IReadOnlyList<string>)d.Words).ToArray();
            var scores = document.Select(d => d.Scores).ToArray();
            var paths = scores.Select(s => TagDecoder.Constrained(s, tags)).ToArray();
            DocumentConsistency.Apply(sentences, paths, scores, tags, minConfidence: 0.3);
            foreach (var path in paths)
            {
                Assert.True(tags.CanStart[path[0]], $"starts with {tags.Tags[path[0]]}");
                Assert.True(tags.CanEnd[path[^1]], $"ends with {tags.Tags[path[^1]]}");
                for (var t = 1; t < path.Length; t++)
                    Assert.True(tags.Allowed[path[t - 1], path[t]], $"{tags.Tags[path[t - 1]]} -> {tags.Tags[path[t]]}");
            }
        }, iter: 3000);
    }

    private static (int[][] Paths, float[][] Scores, IReadOnlyList<string>[] Sentences) Document(
        TagSet tags, params (string[] Words, string[] Tags, float LogP)[] sentences)
    {
        var paths = sentences.Select(s => s.Tags.Select(tags.IndexOf).ToArray()).ToArray();
        var scores = sentences.Select((s, i) =>
        {
            // The chosen tag gets the sentence's probability; the rest share what is left.
            var row = new float[s.Words.Length * tags.Count];
            Array.Fill(row, MathF.Log((1 - MathF.Exp(s.LogP)) / (tags.Count - 1)));
            for (var t = 0; t < s.Words.Length; t++)
                row[t * tags.Count + paths[i][t]] = s.LogP;
            return row;
        }).ToArray();
        return (paths, scores, sentences.Select(s => (IReadOnlyList<string>)s.Words).ToArray());
    }

    private static string[] Tags(int[] path, TagSet tags) => [.. path.Select(k => tags.Tags[k])];
}
