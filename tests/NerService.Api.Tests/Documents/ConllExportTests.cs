using NerService.Api.Documents;
using NerService.Model.Text;

namespace NerService.Api.Tests.Documents;

public sealed class ConllExportTests
{
    // Tokens given explicitly: the format is what is under test here, not the tokenizer.
    private static List<TextToken> Tokens(string text, params string[] tokens) => Tokens(text, 0, tokens);

    private static List<TextToken> Tokens(string text, int from, params string[] tokens)
    {
        var result = new List<TextToken>();
        foreach (var token in tokens)
        {
            var start = text.IndexOf(token, from, StringComparison.Ordinal);
            result.Add(new TextToken(token, start, token.Length));
            from = start + token.Length;
        }
        return result;
    }

    private static async Task<string> Export(IReadOnlyList<IReadOnlyList<TextToken>> sentences, params DocumentEntity[] entities)
    {
        using var writer = new StringWriter();
        await ConllExport.WriteDocumentAsync(writer, sentences, entities);
        return writer.ToString();
    }

    [Fact]
    public async Task EntitiesBecomeIob2TagsAndSentencesEndWithABlankLine()
    {
        const string text = "Angela Merkel met Obama. New York City agreed.";
        var sentences = new[]
        {
            Tokens(text, "Angela", "Merkel", "met", "Obama", "."),
            Tokens(text, 24, "New", "York", "City", "agreed", "."),
        };

        var conll = await Export(sentences,
            new DocumentEntity("PER", 0, 13, "Angela Merkel", null),
            new DocumentEntity("PER", 18, 23, "Obama", null),
            new DocumentEntity("LOC", 25, 38, "New York City", null));

        Assert.Equal(
            "Angela B-PER\nMerkel I-PER\nmet O\nObama B-PER\n. O\n\nNew B-LOC\nYork I-LOC\nCity I-LOC\nagreed O\n. O\n\n",
            conll);
    }

    [Fact]
    public async Task AdjacentEntitiesOfOneLabelStartAgain()
    {
        const string text = "Paris Berlin";
        var conll = await Export([Tokens(text, "Paris", "Berlin")],
            new DocumentEntity("LOC", 0, 5, "Paris", 1f), new DocumentEntity("LOC", 6, 12, "Berlin", 1f));

        Assert.Equal("Paris B-LOC\nBerlin B-LOC\n\n", conll);
    }

    [Fact]
    public async Task TokenOnlyPartlyInsideAnEntityStaysOutside()
    {
        const string text = "U.S.-based firms";
        var conll = await Export([Tokens(text, "U.S.-based", "firms")], new DocumentEntity("LOC", 0, 4, "U.S.", null));

        Assert.Equal("U.S.-based O\nfirms O\n\n", conll);
    }
}
