namespace NerService.Model.Corpus;

/// <summary>How entity spans are written as per-token tags.</summary>
public enum TaggingScheme
{
    /// <summary>IOB1: I- throughout, B- only where an entity directly follows one of the same type.</summary>
    Iob1,

    /// <summary>IOB2 (BIO): every entity starts with B-.</summary>
    Iob2,

    /// <summary>BIOES: B- begin, I- inside, E- end, S- single-token entity.</summary>
    Bioes,
}
