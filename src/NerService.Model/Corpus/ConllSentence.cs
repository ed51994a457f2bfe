namespace NerService.Model.Corpus;

/// <summary>One sentence of a CoNLL file: a tag for every token.</summary>
public sealed record ConllSentence(IReadOnlyList<string> Tokens, IReadOnlyList<string> Tags);
