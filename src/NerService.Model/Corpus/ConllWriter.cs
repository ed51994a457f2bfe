namespace NerService.Model.Corpus;

/// <summary>
/// Writes sentences as CoNLL text: one token a line with space-separated columns and a blank line
/// after every sentence, the layout <see cref="ConllReader"/> and conlleval read.
/// </summary>
public static class ConllWriter
{
    /// <summary>Writes <c>token tag</c> lines.</summary>
    public static void Write(TextWriter writer, IEnumerable<ConllSentence> sentences)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(sentences);
        foreach (var sentence in sentences)
        {
            ThrowIfLengthsDiffer(sentence.Tokens, sentence.Tags, nameof(sentences));
            for (var i = 0; i < sentence.Tokens.Count; i++)
            {
                WriteToken(writer, sentence.Tokens[i]);
                WriteColumn(writer, sentence.Tags[i]);
                writer.Write('\n');
            }

            writer.Write('\n');
        }
    }

    /// <summary>Writes <c>token gold predicted</c> lines, the input conlleval scores.</summary>
    public static void WriteForConlleval(
        TextWriter writer,
        IEnumerable<(IReadOnlyList<string> Tokens, IReadOnlyList<string> Gold, IReadOnlyList<string> Predicted)> sentences)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(sentences);
        foreach (var (tokens, gold, predicted) in sentences)
        {
            ThrowIfLengthsDiffer(tokens, gold, nameof(sentences));
            ThrowIfLengthsDiffer(tokens, predicted, nameof(sentences));
            for (var i = 0; i < tokens.Count; i++)
            {
                WriteToken(writer, tokens[i]);
                WriteColumn(writer, gold[i]);
                WriteColumn(writer, predicted[i]);
                writer.Write('\n');
            }

            writer.Write('\n');
        }
    }

    /// <summary>Writes <c>token tag</c> lines to a file, replacing it.</summary>
    public static void WriteFile(string path, IEnumerable<ConllSentence> sentences)
    {
        using var writer = new StreamWriter(path, append: false);
        Write(writer, sentences);
    }

    private static void WriteToken(TextWriter writer, string token)
    {
        // A token with whitespace would read back as extra columns, and an empty one as a sentence break.
        if (token.Length == 0 || token.AsSpan().IndexOfAny(" \t\r\n") >= 0)
        {
            throw new ArgumentException($"Token '{token}' is empty or contains whitespace, which CoNLL files cannot hold.");
        }

        writer.Write(token);
    }

    private static void WriteColumn(TextWriter writer, string tag)
    {
        if (TagSequence.Problem(tag) is { } problem)
        {
            throw new ArgumentException($"The {problem}.");
        }

        writer.Write(' ');
        writer.Write(tag);
    }

    private static void ThrowIfLengthsDiffer(IReadOnlyList<string> tokens, IReadOnlyList<string> tags, string parameter)
    {
        if (tokens.Count != tags.Count)
        {
            throw new ArgumentException($"A sentence has {tokens.Count} tokens but {tags.Count} tags.", parameter);
        }
    }
}
