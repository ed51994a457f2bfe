using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Mvc;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

/// <summary>A text to tag.</summary>
public sealed class NerRequest
{
    /// <summary>The text to tag, up to the configured limit (100,000 characters by default). Empty or whitespace text has no entities; lone surrogates are read as U+FFFD (which keeps all offsets).</summary>
    [Required(AllowEmptyStrings = true)]
    [JsonConverter(typeof(LenientTextConverter))]
    public string? Text { get; init; }

    /// <summary>How <c>start</c> and <c>end</c> count: <c>utf16</c> (default; JavaScript, C#, Java) or <c>codepoint</c> (Python).</summary>
    public string? OffsetUnit { get; init; }

    /// <summary>Also return every token with its tag and probability. Default false.</summary>
    public bool IncludeTokens { get; init; }

    /// <summary>The model to tag with, as <c>GET /model</c> lists them: <c>default</c> (the accurate one; also when absent) or <c>fast</c>.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// Leave out entities whose score (the calibrated probability that the entity is exactly right) is below this,
    /// between 0 and 1; default 0 (all). A precision knob: README lists the precision measured at 0.5, 0.8, 0.9 and 0.95.
    /// </summary>
    public double? MinScore { get; init; }

    /// <summary>
    /// Also return, for each entity, the next most probable labels of the same span and the most probable entity with
    /// other boundaries over its tokens, and the most probable entity in each uncertain stretch left outside every
    /// entity (<c>possibleEntities</c>), each with its probability. Default false.
    /// </summary>
    public bool Alternatives { get; init; }

    /// <summary>
    /// Store the text and its entities as a document (default true); the response then carries its <c>id</c> and a
    /// <c>Location</c> header. Texts containing NUL characters cannot be stored: send them with <c>false</c>.
    /// </summary>
    public bool Store { get; init; } = true;
}

/// <summary>Several texts to tag in one request.</summary>
public sealed class NerBatchRequest
{
    /// <summary>The documents, at most the configured count (100 by default). Results come back in the same order.</summary>
    [Required]
    public List<NerBatchDocument?>? Documents { get; init; }

    /// <summary>Offset unit for every document: <c>utf16</c> (default) or <c>codepoint</c>.</summary>
    public string? OffsetUnit { get; init; }

    /// <summary>Also return the tokens of every document. Default false.</summary>
    public bool IncludeTokens { get; init; }

    /// <summary>Leave out entities scored below this (0 to 1) in every document; default 0 (all).</summary>
    public double? MinScore { get; init; }

    /// <summary>Also return alternatives and possible entities for every document (see the single-text request). Default false.</summary>
    public bool Alternatives { get; init; }

    /// <summary>The model to tag every document with: <c>default</c> (the accurate one; also when absent) or <c>fast</c>.</summary>
    public string? Model { get; init; }

    /// <summary>
    /// Store every document that was tagged (default true), all in one transaction; each result then carries its
    /// <c>documentId</c>. A document whose text contains a NUL character gets its own 400 error instead.
    /// </summary>
    public bool Store { get; init; } = true;
}

/// <summary>One document of a batch.</summary>
public sealed class NerBatchDocument
{
    /// <summary>The caller's identifier, echoed in the result.</summary>
    [JsonConverter(typeof(LenientTextConverter))]
    public string? Id { get; init; }

    /// <summary>The text to tag.</summary>
    [Required(AllowEmptyStrings = true)]
    [JsonConverter(typeof(LenientTextConverter))]
    public string? Text { get; init; }
}

/// <summary>The model that produced a result.</summary>
public sealed record ModelReference(string Name, string Version)
{
    public static ModelReference From(ModelInfo info) => new(info.Name, info.Version);
}

/// <summary>An entity: <c>end</c> is exclusive, in the requested offset unit.</summary>
/// <param name="Text">The entity as it appears in the text.</param>
/// <param name="Label">The entity type, e.g. PER, LOC, ORG, MISC.</param>
/// <param name="Start">Offset of the first character.</param>
/// <param name="End">Offset just past the last character.</param>
/// <param name="Score">
/// The calibrated probability that exactly this span carries exactly this label (over every tag sequence the
/// scheme allows), between 0 and 1: of entities scored about 0.9, about nine in ten are right.
/// </param>
/// <param name="Alternatives">With <c>"alternatives": true</c>: other readings of these tokens, most probable first.</param>
public sealed record EntityResult(
    string Text,
    string Label,
    int Start,
    int End,
    float Score,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<AlternativeResult>? Alternatives = null);

/// <summary>A reading the tagger did not choose: another label for the same span, or other boundaries.</summary>
/// <param name="Text">The span as it appears in the text.</param>
/// <param name="Label">The entity type of this reading.</param>
/// <param name="Start">Offset of the first character.</param>
/// <param name="End">Offset just past the last character.</param>
/// <param name="Probability">The calibrated probability that exactly this span carries exactly this label.</param>
public sealed record AlternativeResult(string Text, string Label, int Start, int End, float Probability);

/// <summary>A token and the tag chosen for it.</summary>
/// <param name="Text">The token.</param>
/// <param name="Start">Offset of the first character.</param>
/// <param name="End">Offset just past the last character.</param>
/// <param name="Tag">The tag, e.g. B-PER, I-PER or O.</param>
/// <param name="Probability">The tag's probability under the model.</param>
public sealed record TokenResult(string Text, int Start, int End, string Tag, float Probability);

/// <summary>
/// The entities of one text, and the id of the stored document (absent with <c>"store": false</c>). With
/// <c>"alternatives": true</c>, <c>possibleEntities</c> holds the most probable entity of each stretch of tokens
/// the tagger left outside every entity although the model gives them at least a 0.1 chance of being in one.
/// </summary>
public sealed record NerResponse(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Id,
    ModelReference Model,
    IReadOnlyList<EntityResult> Entities,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<TokenResult>? Tokens,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<AlternativeResult>? PossibleEntities = null);

/// <summary>Results of a batch, in the order of the request's documents.</summary>
public sealed record NerBatchResponse(ModelReference Model, IReadOnlyList<NerBatchResult> Results);

/// <summary>
/// The result for one document: its entities and the id of its stored document (<c>documentId</c>; absent with
/// <c>"store": false</c>), or the error that kept it from being tagged and stored.
/// </summary>
public sealed record NerBatchResult(
    string? Id,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? DocumentId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<EntityResult>? Entities,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<TokenResult>? Tokens,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProblemDetails? Error,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<AlternativeResult>? PossibleEntities = null);

/// <summary>
/// The default model (its fields, as before several models were served) and every served model under the name
/// requests give in <c>"model"</c>, with its validation metrics.
/// </summary>
public sealed record ModelsResponse(
    string Name,
    string Version,
    IReadOnlyList<string> EntityTypes,
    string TaggingScheme,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, double> ValidationMetrics,
    IReadOnlyDictionary<string, string> DataChecksums,
    DateTimeOffset CreatedAt,
    string? SourceCommit,
    string DefaultModel,
    IReadOnlyDictionary<string, ModelResponse> Models);

/// <summary>What a served model says about itself.</summary>
public sealed record ModelResponse(
    string Name,
    string Version,
    IReadOnlyList<string> EntityTypes,
    string TaggingScheme,
    IReadOnlyList<string> Tags,
    IReadOnlyDictionary<string, double> ValidationMetrics,
    IReadOnlyDictionary<string, string> DataChecksums,
    DateTimeOffset CreatedAt,
    string? SourceCommit)
{
    public static ModelResponse From(ModelInfo info) => new(
        info.Name, info.Version, info.EntityTypes, info.TaggingScheme, info.Tags,
        info.ValidationMetrics, info.DataChecksums, info.CreatedAt, info.SourceCommit);
}

/// <summary>The units <c>start</c> and <c>end</c> count in.</summary>
internal enum OffsetUnit
{
    Utf16,
    CodePoint,
}
