using NerService.Model.Corpus;

namespace NerService.Model.Tests.Corpus;

public sealed class RunningTextTests
{
    private static readonly ConllSentence[] Document =
    [
        new(["SOCCER", "-", "JAPAN", "GET", "LUCKY", "WIN"], ["O", "O", "S-LOC", "O", "O", "O"]),
        new(["AL-AIN", ",", "United", "Arab", "Emirates", "1996-12-06"], ["S-LOC", "O", "B-LOC", "I-LOC", "E-LOC", "O"]),
        new(["Japan", "began", "the", "defence", "of", "their", "Asian", "Cup", "title", "."], ["S-LOC", "O", "O", "O", "O", "O", "B-MISC", "E-MISC", "O", "O"]),
        new(["\"", "We", "won", "(", "2-1", ")", ",", "\"", "said", "Shu", "Kamo", "."], ["O", "O", "O", "O", "O", "O", "O", "O", "O", "B-PER", "E-PER", "O"]),
    ];

    [Fact]
    public void DetokenizedTextPlacesEveryTokenAtItsOffsets()
    {
        var (text, offsets) = RunningText.Detokenize(Document, " ");

        Assert.StartsWith("SOCCER - JAPAN GET LUCKY WIN AL-AIN, United Arab Emirates 1996-12-06 Japan began", text);
        Assert.Contains("\"We won (2-1),\" said Shu Kamo.", text);
        for (var s = 0; s < Document.Length; s++)
        {
            for (var t = 0; t < Document[s].Tokens.Count; t++)
                Assert.Equal(Document[s].Tokens[t], text[offsets[s][t].Start..offsets[s][t].End]);
        }
    }

    [Fact]
    public void LinesWithoutClosingPunctuationRunIntoTheNextSentenceAndKeepTheirEntities()
    {
        var cut = RunningText.AsTheServiceSplitsIt(Document, " ", TaggingScheme.Bioes);

        // Headline and dateline have no full stop: the service's splitter reads them as one sentence with the next.
        Assert.Equal(2, cut.Count);
        Assert.Equal(Document[0].Tokens.Concat(Document[1].Tokens).Concat(Document[2].Tokens), cut[0].Tokens);
        Assert.Equal(Document[0].Tags.Concat(Document[1].Tags).Concat(Document[2].Tags), cut[0].Tags);
        Assert.Equal(Document[3].Tokens, cut[1].Tokens);
        Assert.Equal(Document[3].Tags, cut[1].Tags);
    }

    [Fact]
    public void OneSentencePerLineGivesTheDataSetsSentencesBack()
    {
        var cut = RunningText.AsTheServiceSplitsIt(Document, "\n", TaggingScheme.Bioes);

        Assert.Equal(Document.Select(s => s.Tokens), cut.Select(s => s.Tokens));
        Assert.Equal(Document.Select(s => s.Tags), cut.Select(s => s.Tags));
    }

    [Fact]
    public void AnEntityCoversEveryTokenItOverlaps()
    {
        (int, int)[] tokens = [(0, 4), (5, 9), (9, 10)];

        var tags = RunningText.TagsFromSpans(tokens, [("LOC", 0, 10)], TaggingScheme.Bioes);

        Assert.Equal(["B-LOC", "I-LOC", "E-LOC"], tags);
    }
}
