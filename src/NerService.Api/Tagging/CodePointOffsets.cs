namespace NerService.Api.Tagging;

/// <summary>
/// Converts UTF-16 offsets into code point offsets, for clients whose strings count code points (Python).
/// A surrogate pair is one code point; a lone surrogate counts as one too (Python keeps it as one character).
/// </summary>
internal sealed class CodePointOffsets
{
    // Number of complete surrogate pairs ending at or before each UTF-16 offset.
    private readonly int[] pairsBefore;

    public CodePointOffsets(string text)
    {
        pairsBefore = new int[text.Length + 1];
        var pairs = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (i > 0 && char.IsLowSurrogate(text[i]) && char.IsHighSurrogate(text[i - 1]))
                pairs++;
            pairsBefore[i + 1] = pairs;
        }
    }

    /// <summary>The code point offset of UTF-16 offset <paramref name="utf16Offset"/> (which should not split a pair).</summary>
    public int FromUtf16(int utf16Offset)
    {
        var offset = Math.Clamp(utf16Offset, 0, pairsBefore.Length - 1);
        return offset - pairsBefore[offset];
    }
}
