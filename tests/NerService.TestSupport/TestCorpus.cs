namespace NerService.TestSupport;

public static class TestCorpus
{
    /// <summary>A few CoNLL-2003 sentences (IOB2, all four entity types) that a tiny model learns perfectly.</summary>
    public const string Conll = """
        -DOCSTART- -X- -X- O

        John NNP B-NP B-PER
        Smith NNP I-NP I-PER
        visited VBD B-VP O
        Paris NNP B-NP B-LOC
        . . O O

        Reuters NNP B-NP B-ORG
        reported VBD B-VP O
        from IN B-PP O
        Germany NNP B-NP B-LOC
        . . O O

        The DT B-NP O
        European NNP I-NP B-ORG
        Commission NNP I-NP I-ORG
        met VBD B-VP O
        German JJ B-NP B-MISC
        farmers NNS I-NP O
        . . O O

        Mary NNP B-NP B-PER
        lives VBZ B-VP O
        in IN B-PP O
        London NNP B-NP B-LOC
        . . O O
        """;
}
