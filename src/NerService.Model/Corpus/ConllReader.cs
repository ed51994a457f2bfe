namespace NerService.Model.Corpus;

/// <summary>
/// Reads CoNLL files: one token a line with the token in the first column and the entity tag in the
/// last (four-column CoNLL-2003 <c>word POS chunk NER</c>, or two-column <c>token tag</c>), columns
/// separated by spaces or tabs, blank lines between sentences, <c>-DOCSTART-</c> lines skipped.
/// </summary>
public static class ConllReader
{
    private const string DocumentStart = "-DOCSTART-";

    /// <summary>Reads a file and returns its sentences with tags in <paramref name="targetScheme"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="targetScheme">The scheme the returned tags are in.</param>
    /// <param name="sourceScheme">
    /// The scheme of the file when known: S-/E- tags in a file stated to be IOB1 or IOB2 are then an
    /// error. Left out, any scheme is accepted (conlleval's rules read them all; see <see cref="TagSequence"/>).
    /// </param>
    /// <exception cref="ConllFormatException">The file is malformed.</exception>
    public static IReadOnlyList<ConllSentence> ReadFile(string path, TaggingScheme targetScheme, TaggingScheme? sourceScheme = null)
    {
        using var reader = new StreamReader(path, new FileStreamOptions { BufferSize = 1 << 16 });
        return Read(reader, path, targetScheme, sourceScheme);
    }

    /// <summary>
    /// Reads a CoNLL file as its <c>-DOCSTART-</c> documents, each the list of its sentences, in one pass (error
    /// messages name the file's own lines). Documents without sentences are left out.
    /// </summary>
    /// <exception cref="ConllFormatException">The file is malformed.</exception>
    public static IReadOnlyList<IReadOnlyList<ConllSentence>> ReadDocuments(string path, TaggingScheme targetScheme, TaggingScheme? sourceScheme = null)
    {
        using var reader = new StreamReader(path, new FileStreamOptions { BufferSize = 1 << 16 });
        var documentStarts = new List<int>();
        var sentences = Read(reader, path, targetScheme, sourceScheme, documentStarts);
        var documents = new List<IReadOnlyList<ConllSentence>>();
        var first = 0;
        foreach (var end in documentStarts.Append(sentences.Count))
        {
            if (end > first)
                documents.Add(sentences.Take(first..end).ToArray());
            first = end;
        }
        return documents;
    }

    /// <summary>Reads CoNLL text; <paramref name="fileName"/> names the source in error messages.</summary>
    /// <exception cref="ConllFormatException">The text is malformed.</exception>
    public static IReadOnlyList<ConllSentence> Read(
        TextReader reader, string fileName, TaggingScheme targetScheme, TaggingScheme? sourceScheme = null)
        => Read(reader, fileName, targetScheme, sourceScheme, documentStarts: null);

    /// <summary>The reader; <paramref name="documentStarts"/>, when given, receives the index of each <c>-DOCSTART-</c>'s first sentence.</summary>
    private static IReadOnlyList<ConllSentence> Read(
        TextReader reader, string fileName, TaggingScheme targetScheme, TaggingScheme? sourceScheme, List<int>? documentStarts)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(fileName);
        if (!Enum.IsDefined(targetScheme) || (sourceScheme is { } stated && !Enum.IsDefined(stated)))
        {
            throw new ArgumentOutOfRangeException(nameof(targetScheme), "Unknown tagging scheme.");
        }

        var forbidsBioesPrefixes = sourceScheme is TaggingScheme.Iob1 or TaggingScheme.Iob2;
        var cache = new TagStringCache();
        var sentences = new List<ConllSentence>();
        var tokens = new List<string>();
        var tags = new List<string>();
        var spans = new List<LabeledSpan>();
        var expectedColumns = 0;
        var firstTokenLine = 0;
        var lineNumber = 0;

        void EndSentence()
        {
            if (tokens.Count == 0)
            {
                return;
            }

            var sentenceTags = tags.ToArray();
            TagSequence.ConvertInPlace(sentenceTags, targetScheme, cache, spans);
            sentences.Add(new ConllSentence(tokens.ToArray(), sentenceTags));
            tokens.Clear();
            tags.Clear();
        }

        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            var fields = Fields.Of(line);
            if (fields.Count == 0)
            {
                EndSentence();
                continue;
            }

            var token = line.AsSpan(fields.FirstStart, fields.FirstLength);
            if (token.SequenceEqual(DocumentStart))
            {
                EndSentence();
                documentStarts?.Add(sentences.Count);
                continue;
            }

            if (expectedColumns == 0)
            {
                if (fields.Count < 2)
                {
                    throw new ConllFormatException(fileName, lineNumber, "a token line needs a token and a tag, but this one has 1 column");
                }

                expectedColumns = fields.Count;
                firstTokenLine = lineNumber;
            }
            else if (fields.Count != expectedColumns)
            {
                throw new ConllFormatException(
                    fileName,
                    lineNumber,
                    $"found {fields.Count} columns, but the file's first token line (line {firstTokenLine}) has {expectedColumns}");
            }

            var tag = cache.Intern(line.AsSpan(fields.LastStart, fields.LastLength));
            if (TagSequence.Problem(tag) is { } problem)
            {
                throw new ConllFormatException(fileName, lineNumber, problem);
            }

            if (forbidsBioesPrefixes && tag[0] is 'S' or 'E')
            {
                throw new ConllFormatException(
                    fileName, lineNumber, $"tag '{tag}' has an {tag[0]}- prefix, which the stated scheme {sourceScheme} does not use");
            }

            tokens.Add(token.ToString());
            tags.Add(tag);
        }

        EndSentence();
        return sentences;
    }

    /// <summary>Where the first and last whitespace-separated fields of a line are, and how many there are.</summary>
    private readonly record struct Fields(int Count, int FirstStart, int FirstLength, int LastStart, int LastLength)
    {
        public static Fields Of(string line)
        {
            int count = 0, firstStart = 0, firstLength = 0, lastStart = 0, lastLength = 0;
            var i = 0;
            while (i < line.Length)
            {
                if (line[i] is ' ' or '\t')
                {
                    i++;
                    continue;
                }

                var start = i;
                while (i < line.Length && line[i] is not (' ' or '\t'))
                {
                    i++;
                }

                if (count == 0)
                {
                    (firstStart, firstLength) = (start, i - start);
                }

                (lastStart, lastLength) = (start, i - start);
                count++;
            }

            return new Fields(count, firstStart, firstLength, lastStart, lastLength);
        }
    }
}
