namespace NerService.Model.Corpus;

/// <summary>How entity tags mark where an entity begins and ends.</summary>
public enum TaggingScheme
{
    /// <summary>
    /// Entities are tagged <c>I-X</c>; <c>B-X</c> appears only on the first token of an entity that directly
    /// follows another entity of the same type (the original CoNLL-2003 files).
    /// </summary>
    Iob1,

    /// <summary>Every entity starts with <c>B-X</c>, later tokens are <c>I-X</c> (also called BIO).</summary>
    Iob2,

    /// <summary><c>S-X</c> for one-token entities, otherwise <c>B-X</c>, <c>I-X</c>…, <c>E-X</c>.</summary>
    Bioes,
}
