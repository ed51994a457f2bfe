namespace NerService.Model.Text;

/// <summary>A token of a text: <c>text.Substring(Start, Length) == Text</c> always holds.</summary>
public readonly record struct TextToken(string Text, int Start, int Length)
{
    /// <summary>Exclusive end offset, in UTF-16 code units.</summary>
    public int End => Start + Length;
}
