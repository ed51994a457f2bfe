using NerService.Model.Text;

namespace NerService.Api.Documents;

/// <summary>
/// Writes documents as two-column CoNLL training data: one <c>token TAG</c> line per token with IOB2 tags
/// (<c>B-PER</c>, <c>I-PER</c>, <c>O</c>), a blank line after each sentence, which <c>NerService.Training train</c>
/// reads. Texts are split with the tokenizer the service tags with, so the exported tokens are the ones the
/// model sees. An entity tags the tokens that lie wholly inside its span; a token it only partly covers
/// (a correction that cuts a token) stays O rather than claiming characters outside the entity.
/// </summary>
public static class ConllExport
{
    public const string ContentType = "text/plain; charset=utf-8";

    public static Task WriteDocumentAsync(TextWriter writer, StoredDocument document) =>
        WriteDocumentAsync(writer, NerTokenizer.Default.SplitSentences(document.Text), document.Entities);

    public static async Task WriteDocumentAsync(TextWriter writer, IReadOnlyList<IReadOnlyList<TextToken>> sentences, IReadOnlyList<DocumentEntity> entities)
    {
        var byStart = entities.OrderBy(e => e.Start).ToList();
        var next = 0;
        foreach (var sentence in sentences)
        {
            if (sentence.Count == 0)
                continue;
            DocumentEntity? previousEntity = null;
            foreach (var token in sentence)
            {
                while (next < byStart.Count && byStart[next].End <= token.Start)
                    next++;
                var entity = next < byStart.Count && byStart[next].Start <= token.Start && token.End <= byStart[next].End ? byStart[next] : null;
                var tag = entity is null ? "O" : (ReferenceEquals(entity, previousEntity) ? "I-" : "B-") + entity.Label;
                previousEntity = entity;
                await writer.WriteAsync(token.Text);
                await writer.WriteAsync(' ');
                await writer.WriteAsync(tag);
                await writer.WriteAsync('\n');
            }
            await writer.WriteAsync('\n');
        }
    }
}
