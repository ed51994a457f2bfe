using NerService.Model.Corpus;
using static NerService.Model.Tests.Corpus.TagSequenceTests;

namespace NerService.Model.Tests.Corpus;

public class ConllReaderTests
{
    private const string Conll2003Sample = """
        -DOCSTART- -X- -X- O

        EU NNP B-NP B-ORG
        rejects VBZ B-VP O
        German JJ B-NP B-MISC
        call NN I-NP O

        Peter NNP B-NP B-PER
        Blackburn NNP I-NP I-PER

        -DOCSTART- -X- -X- O

        BRUSSELS NNP B-NP B-LOC

        """;

    private static IReadOnlyList<ConllSentence> Read(string text, TaggingScheme target, TaggingScheme? source = null) =>
        ConllReader.Read(new StringReader(text), "sample.txt", target, source);

    private static ConllFormatException ReadMalformed(string text, TaggingScheme? source = null) =>
        Assert.Throws<ConllFormatException>(() => Read(text, TaggingScheme.Iob2, source));

    [Fact]
    public void AFourColumnConll2003FileGivesTokensAndTheLastColumnAsTags()
    {
        var sentences = Read(Conll2003Sample, TaggingScheme.Iob2);

        Assert.Equal(3, sentences.Count);
        Assert.Equal(["EU", "rejects", "German", "call"], sentences[0].Tokens);
        Assert.Equal(Tags("B-ORG O B-MISC O"), sentences[0].Tags);
        Assert.Equal(["Peter", "Blackburn"], sentences[1].Tokens);
        Assert.Equal(Tags("B-PER I-PER"), sentences[1].Tags);
        Assert.Equal(["BRUSSELS"], sentences[2].Tokens);
    }

    [Fact]
    public void DocumentStartLinesAreSkippedEvenWithoutBlankLinesAround()
    {
        var sentences = Read("-DOCSTART- O\nA O\n-DOCSTART- O\nB B-PER\n", TaggingScheme.Iob2);

        Assert.Equal(2, sentences.Count);
        Assert.Equal(["A"], sentences[0].Tokens);
        Assert.Equal(["B"], sentences[1].Tokens);
    }

    [Fact]
    public void ATwoColumnTabSeparatedFileIsRead()
    {
        var sentences = Read("Angela\tB-PER\nMerkel\tI-PER\nspoke\tO\n\n\n\nin\tO\nBerlin\tB-LOC", TaggingScheme.Iob2);

        Assert.Equal(2, sentences.Count);
        Assert.Equal(["Angela", "Merkel", "spoke"], sentences[0].Tokens);
        Assert.Equal(Tags("B-PER I-PER O"), sentences[0].Tags);
        Assert.Equal(["in", "Berlin"], sentences[1].Tokens);
        Assert.Equal(Tags("O B-LOC"), sentences[1].Tags);
    }

    [Fact]
    public void ColumnsMaySeparateWithRunsOfSpacesAndTabsAndWindowsLineEnds()
    {
        var sentences = Read("Paris  NNP \t B-LOC\r\nis VBZ O\r\n\r\n", TaggingScheme.Iob2);

        Assert.Equal(["Paris", "is"], Assert.Single(sentences).Tokens);
        Assert.Equal(Tags("B-LOC O"), sentences[0].Tags);
    }

    [Theory]
    [InlineData("I-PER I-PER B-PER O I-LOC", TaggingScheme.Iob1)]
    [InlineData("B-PER I-PER B-PER O B-LOC", TaggingScheme.Iob2)]
    [InlineData("B-PER E-PER S-PER O S-LOC", TaggingScheme.Bioes)]
    public void EverySchemeIsReadIntoTheRequestedOne(string fileTags, TaggingScheme fileScheme)
    {
        var text = string.Join('\n', Tags(fileTags).Select((tag, i) => $"w{i} {tag}"));

        foreach (var stated in new TaggingScheme?[] { fileScheme, null })
        {
            Assert.Equal(Tags("I-PER I-PER B-PER O I-LOC"), Read(text, TaggingScheme.Iob1, stated)[0].Tags);
            Assert.Equal(Tags("B-PER I-PER B-PER O B-LOC"), Read(text, TaggingScheme.Iob2, stated)[0].Tags);
            Assert.Equal(Tags("B-PER E-PER S-PER O S-LOC"), Read(text, TaggingScheme.Bioes, stated)[0].Tags);
        }
    }

    [Fact]
    public void ALineWithAnotherColumnCountNamesTheFileAndLine()
    {
        var error = ReadMalformed("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nGerman B-MISC\n");

        Assert.Equal("sample.txt", error.FileName);
        Assert.Equal(4, error.LineNumber);
        Assert.StartsWith("sample.txt, line 4: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("found 2 columns", error.Message, StringComparison.Ordinal);
        Assert.Contains("(line 1) has 4", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("A O\nB X-PER\n", 2, "tag 'X-PER' is not O, B-X, I-X, E-X or S-X")]
    [InlineData("A O\n\nB O\nC B-\n", 4, "tag 'B-' has an empty label")]
    [InlineData("A PER\n", 1, "tag 'PER' is not")]
    [InlineData("-DOCSTART- O\n\nA\n", 3, "a token line needs a token and a tag, but this one has 1 column")]
    public void AMalformedTagOrLineNamesTheFileLineAndProblem(string text, int line, string problem)
    {
        var error = ReadMalformed(text);

        Assert.Equal(line, error.LineNumber);
        Assert.Contains($"sample.txt, line {line}: {problem}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SingleTagsInAFileStatedToBeIob2AreAnError()
    {
        var error = ReadMalformed("A B-PER\nB O\nC S-LOC\n", TaggingScheme.Iob2);

        Assert.Equal(3, error.LineNumber);
        Assert.Contains("S-", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEmptyFileHasNoSentences()
    {
        Assert.Empty(Read("", TaggingScheme.Iob2));
        Assert.Empty(Read("\n\n-DOCSTART- -X- -X- O\n\n", TaggingScheme.Iob2));
    }

    [Fact]
    public void WrittenSentencesReadBackUnchanged()
    {
        ConllSentence[] sentences =
        [
            new(["Angela", "Merkel", "spoke"], Tags("B-PER I-PER O")),
            new(["in", "Berlin", "."], Tags("O B-LOC O")),
        ];
        var text = new StringWriter();

        ConllWriter.Write(text, sentences);

        Assert.Equal("Angela B-PER\nMerkel I-PER\nspoke O\n\nin O\nBerlin B-LOC\n. O\n\n", text.ToString());
        var readBack = Read(text.ToString(), TaggingScheme.Iob2);
        Assert.Equal(sentences.Select(s => s.Tokens), readBack.Select(s => s.Tokens));
        Assert.Equal(sentences.Select(s => s.Tags), readBack.Select(s => s.Tags));
    }

    [Fact]
    public void TheConllevalLayoutHasTokenGoldAndPredictedColumns()
    {
        var text = new StringWriter();

        ConllWriter.WriteForConlleval(text, [(["New", "York"], Tags("B-LOC I-LOC"), Tags("B-LOC O"))]);

        Assert.Equal("New B-LOC B-LOC\nYork I-LOC O\n\n", text.ToString());
    }

    [Fact]
    public void ATokenWithWhitespaceCannotBeWritten()
    {
        Assert.Throws<ArgumentException>(() => ConllWriter.Write(new StringWriter(), [new(["New York"], ["B-LOC"])]));
    }

    [Fact]
    public void TheConll2003ValidationFileHasItsPublishedCounts()
    {
        const string path = "/work/shared/data/conll2003/valid.txt";
        if (!File.Exists(path))
        {
            return;
        }

        var sentences = ConllReader.ReadFile(path, TaggingScheme.Iob2, TaggingScheme.Iob2);

        Assert.Equal(3_250, sentences.Count);
        Assert.Equal(51_362, sentences.Sum(s => s.Tokens.Count));
        Assert.Equal(5_942, sentences.Sum(s => TagSequence.Spans(s.Tags, TaggingScheme.Iob2).Count));
        Assert.Equal(TaggingScheme.Iob2, TagSequence.DetectScheme(sentences.Select(s => s.Tags)));
        var asIob1 = ConllReader.ReadFile(path, TaggingScheme.Iob1);
        Assert.Equal(TaggingScheme.Iob1, TagSequence.DetectScheme(asIob1.Select(s => s.Tags)));
        Assert.Equal(5_942, asIob1.Sum(s => TagSequence.Spans(s.Tags, TaggingScheme.Iob1).Count));
    }
}
