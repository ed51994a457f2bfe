using CsCheck;
using NerService.Model.Corpus;

namespace NerService.Model.Tests.Corpus;

public class TagSequenceTests
{
    internal static string[] Tags(string text) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Any tag sequence, well-formed or not, over two types and all prefixes.</summary>
    internal static readonly Gen<string[]> AnyTags =
        Gen.OneOfConst("O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC").Array[0, 12];

    /// <summary>Sequences in B/I/O only, as conlleval's original rules know them.</summary>
    internal static readonly Gen<string[]> IobTags =
        Gen.OneOfConst("O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC").Array[0, 12];

    [Fact]
    public void SpansOfAnIob2SentenceAreItsEntities()
    {
        var spans = TagSequence.Spans(Tags("B-PER I-PER O B-LOC O B-ORG I-ORG I-ORG"), TaggingScheme.Iob2);

        Assert.Equal([new("PER", 0, 2), new("LOC", 3, 4), new("ORG", 5, 8)], spans);
    }

    [Fact]
    public void AnInsideTagAfterOutsideStartsAChunkAsInConlleval()
    {
        var spans = TagSequence.Spans(Tags("O I-PER I-PER O"), TaggingScheme.Iob2);

        Assert.Equal([new LabeledSpan("PER", 1, 3)], spans);
    }

    [Fact]
    public void AnInsideTagOfAnotherTypeStartsANewChunk()
    {
        var spans = TagSequence.Spans(Tags("B-PER I-LOC I-LOC"), TaggingScheme.Iob2);

        Assert.Equal([new("PER", 0, 1), new("LOC", 1, 3)], spans);
    }

    [Fact]
    public void Iob1UsesBeginOnlyToSeparateAdjacentEntitiesOfOneType()
    {
        var spans = TagSequence.Spans(Tags("I-PER I-PER B-PER O I-LOC B-LOC"), TaggingScheme.Iob1);

        Assert.Equal([new("PER", 0, 2), new("PER", 2, 3), new("LOC", 4, 5), new("LOC", 5, 6)], spans);
    }

    [Fact]
    public void BioesSinglesAndEndsCloseTheirChunks()
    {
        var spans = TagSequence.Spans(Tags("S-PER S-PER B-LOC I-LOC E-LOC B-LOC E-LOC O S-ORG"), TaggingScheme.Bioes);

        Assert.Equal(
            [new("PER", 0, 1), new("PER", 1, 2), new("LOC", 2, 5), new("LOC", 5, 7), new("ORG", 8, 9)],
            spans);
    }

    [Fact]
    public void IllFormedBioesIsReadLikeConllevalsPythonPort()
    {
        // B- without E- ends at O; I-/E- after E- start a new chunk.
        var spans = TagSequence.Spans(Tags("B-PER O E-PER I-PER B-LOC B-LOC E-LOC"), TaggingScheme.Bioes);

        Assert.Equal([new("PER", 0, 1), new("PER", 2, 3), new("PER", 3, 4), new("LOC", 4, 5), new("LOC", 5, 7)], spans);
    }

    [Fact]
    public void AnEmptySentenceHasNoSpans()
    {
        Assert.Empty(TagSequence.Spans([], TaggingScheme.Iob2));
        Assert.Empty(TagSequence.Spans(Tags("O O O"), TaggingScheme.Bioes));
    }

    [Theory]
    [InlineData("X-PER")]
    [InlineData("B-")]
    [InlineData("PER")]
    [InlineData("")]
    [InlineData("o")]
    public void AMalformedTagIsRejected(string tag)
    {
        Assert.False(TagSequence.IsValidTag(tag));
        Assert.Throws<ArgumentException>(() => TagSequence.Spans(["O", tag], TaggingScheme.Iob2));
    }

    [Theory]
    [InlineData(TaggingScheme.Iob1, "I-PER I-PER B-PER O I-LOC O")]
    [InlineData(TaggingScheme.Iob2, "B-PER I-PER B-PER O B-LOC O")]
    [InlineData(TaggingScheme.Bioes, "B-PER E-PER S-PER O S-LOC O")]
    public void SpansAreWrittenAsTagsInEachScheme(TaggingScheme scheme, string expected)
    {
        LabeledSpan[] spans = [new("PER", 0, 2), new("PER", 2, 3), new("LOC", 4, 5)];

        Assert.Equal(Tags(expected), TagSequence.ToTags(spans, 6, scheme));
    }

    [Fact]
    public void OverlappingSpansCannotBeWrittenAsTags()
    {
        Assert.Throws<ArgumentException>(() => TagSequence.ToTags([new("PER", 0, 2), new("LOC", 1, 3)], 4, TaggingScheme.Iob2));
        Assert.Throws<ArgumentException>(() => TagSequence.ToTags([new("PER", 3, 5)], 4, TaggingScheme.Iob2));
    }

    [Theory]
    [InlineData(TaggingScheme.Iob1, "I-ORG I-ORG B-ORG O I-MISC I-MISC I-PER", TaggingScheme.Iob2, "B-ORG I-ORG B-ORG O B-MISC I-MISC B-PER")]
    [InlineData(TaggingScheme.Iob2, "B-ORG I-ORG B-ORG O B-MISC I-MISC B-PER", TaggingScheme.Bioes, "B-ORG E-ORG S-ORG O B-MISC E-MISC S-PER")]
    [InlineData(TaggingScheme.Bioes, "B-ORG E-ORG S-ORG O B-MISC E-MISC S-PER", TaggingScheme.Iob1, "I-ORG I-ORG B-ORG O I-MISC I-MISC I-PER")]
    [InlineData(TaggingScheme.Iob2, "O I-PER I-PER", TaggingScheme.Iob2, "O B-PER I-PER")]
    public void ConversionRewritesTheSameEntities(TaggingScheme from, string tags, TaggingScheme to, string expected)
    {
        Assert.Equal(Tags(expected), TagSequence.Convert(Tags(tags), from, to));
    }

    [Fact]
    public void SpansWrittenInAnySchemeReadBackUnchanged()
    {
        AnyTags.Sample(tags =>
        {
            var spans = TagSequence.Spans(tags, TaggingScheme.Bioes);
            foreach (var scheme in Enum.GetValues<TaggingScheme>())
            {
                Assert.Equal(spans, TagSequence.Spans(TagSequence.ToTags(spans, tags.Length, scheme), scheme));
            }
        });
    }

    [Fact]
    public void ConvertingThroughEverySchemeAndBackChangesNothing()
    {
        AnyTags.Sample(tags =>
        {
            foreach (var from in Enum.GetValues<TaggingScheme>())
            {
                var canonical = TagSequence.Convert(tags, from, from);
                foreach (var via in Enum.GetValues<TaggingScheme>())
                {
                    Assert.Equal(canonical, TagSequence.Convert(TagSequence.Convert(canonical, from, via), via, from));
                }
            }
        });
    }

    [Fact]
    public void AWellFormedSequenceConvertsToItself()
    {
        string[] iob2 = Tags("B-PER I-PER B-PER O B-LOC");
        Assert.Equal(iob2, TagSequence.Convert(iob2, TaggingScheme.Iob2, TaggingScheme.Iob2));
    }

    [Fact]
    public void EntitiesThatBeginWithBeginTagsMeanIob2()
    {
        Assert.Equal(TaggingScheme.Iob2, TagSequence.DetectScheme([Tags("B-PER I-PER O"), Tags("O B-LOC")]));
    }

    [Fact]
    public void EntitiesThatBeginWithInsideTagsAndBeginOnlyBetweenSameTypeMeanIob1()
    {
        Assert.Equal(TaggingScheme.Iob1, TagSequence.DetectScheme([Tags("I-PER I-PER B-PER B-PER O I-LOC"), Tags("O O")]));
    }

    [Fact]
    public void AnySingleOrEndTagMeansBioes()
    {
        Assert.Equal(TaggingScheme.Bioes, TagSequence.DetectScheme([Tags("B-PER I-PER O"), Tags("O S-LOC")]));
        Assert.Equal(TaggingScheme.Bioes, TagSequence.DetectScheme([Tags("B-PER E-PER")]));
    }

    [Fact]
    public void WithoutEntitiesOrWithMixedEvidenceTheSchemeIsIob2()
    {
        Assert.Equal(TaggingScheme.Iob2, TagSequence.DetectScheme([Tags("O O"), []]));
        Assert.Equal(TaggingScheme.Iob2, TagSequence.DetectScheme([Tags("I-PER O B-LOC")]));
    }
}
