namespace NerService.Model.Features;

/// <summary>A word's shape as a small category: the casing signal lowercased embeddings lose.</summary>
public static class Casing
{
    public const int Padding = 0;
    public const int Count = 9;

    public static int Of(string word)
    {
        int upper = 0, lower = 0, digits = 0, letters = 0;
        foreach (var c in word)
        {
            if (char.IsUpper(c)) { upper++; letters++; }
            else if (char.IsLower(c)) { lower++; letters++; }
            else if (char.IsLetter(c)) letters++;
            else if (char.IsDigit(c)) digits++;
        }
        if (word.Length == 0) return 8;
        if (digits == word.Length) return 1;                       // numeric
        if (digits * 2 >= word.Length) return 2;                   // mainly numeric (1996-08-22, 47,600)
        if (letters == 0) return digits > 0 ? 3 : 4;               // has digits / punctuation only
        if (upper == letters && letters > 0) return 5;             // ALL CAPS
        if (char.IsUpper(word[0]) && upper == 1) return 6;         // Initial capital
        if (lower == letters) return 7;                            // all lowercase
        return 8;                                                  // mixed (McDonald, iPhone, U.S.)
    }
}
