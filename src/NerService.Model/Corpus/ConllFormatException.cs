namespace NerService.Model.Corpus;

/// <summary>A CoNLL file that cannot be read; the message names the file, the line and the problem.</summary>
public sealed class ConllFormatException(string fileName, int lineNumber, string problem)
    : FormatException($"{fileName}, line {lineNumber}: {problem}")
{
    public string FileName { get; } = fileName;

    /// <summary>1-based.</summary>
    public int LineNumber { get; } = lineNumber;

    public string Problem { get; } = problem;
}
