namespace NerService.Model.Corpus;

/// <summary>An entity over token indices <c>[Start, End)</c>.</summary>
public readonly record struct LabeledSpan(string Label, int Start, int End)
{
    public int Length => End - Start;
}
