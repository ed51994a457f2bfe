using NerService.Api.Security;
using NerService.Model.Inference;

namespace NerService.Api.Documents;

/// <summary>
/// A tagged text to store in <see cref="Tenant"/>. <see cref="IdempotencyKey"/> (the request's
/// <c>Idempotency-Key</c>) makes retries safe: storing the same key again in the same tenant returns the first
/// document's id and writes nothing. A retry with the same key but a different text still gets the first
/// document: the key, not the content, identifies it. Document i of a batch request keeps the batch's key with
/// <see cref="IdempotencyBatchIndex"/> i, a namespace of its own that no single request's key reaches.
/// </summary>
public sealed record NewDocument(
    string Text,
    IReadOnlyList<EntitySpan> Entities,
    string ModelName,
    string ModelVersion,
    string? IdempotencyKey = null)
{
    /// <summary>The tenant of the key that stores the document.</summary>
    public string Tenant { get; init; } = ApiClient.LocalTenant;

    /// <summary>The document's position in a batch request sent with <see cref="IdempotencyKey"/>; null for a single request.</summary>
    public int? IdempotencyBatchIndex { get; init; }
}

/// <summary>An entity of a stored document. <see cref="Score"/> is null for entities a person entered.</summary>
public sealed record DocumentEntity(string Label, int Start, int End, string Text, float? Score);

/// <summary>
/// An entity a person entered. <see cref="Text"/> is optional; when given it must equal the text at
/// Start..End, which catches offsets counted in another unit.
/// </summary>
public sealed record CorrectedEntity(string Label, int Start, int End, string? Text = null);

/// <summary>A document as stored.</summary>
public sealed record StoredDocument(
    long Id,
    string Text,
    IReadOnlyList<DocumentEntity> Entities,
    string ModelName,
    string ModelVersion,
    DateTimeOffset CreatedAt,
    bool Reviewed)
{
    /// <summary>The tenant the document belongs to.</summary>
    public string Tenant { get; init; } = ApiClient.LocalTenant;

    /// <summary>True when <see cref="Entities"/> is the first part of a longer list (a list page caps entities per document).</summary>
    public bool EntitiesTruncated { get; init; }

    /// <summary>
    /// The lowest score of the entities the model gave the document when it was tagged (corrections leave it);
    /// +Infinity when it gave none.
    /// </summary>
    public float LowestEntityScore { get; init; } = float.PositiveInfinity;
}

/// <summary>The order of a document listing.</summary>
public enum DocumentOrder
{
    /// <summary>Newest first, by (created_at, id) descending.</summary>
    Newest,

    /// <summary>Lowest entity score first, by (lowest_entity_score, id) ascending; documents without scored entities last.</summary>
    LeastConfident,
}

/// <summary>
/// Which documents to list; null means no condition. The entity conditions (<see cref="Label"/>,
/// <see cref="EntityText"/>, <see cref="EntityPrefix"/>) must all hold for one and the same entity.
/// </summary>
public sealed record DocumentFilter
{
    /// <summary>Only this tenant's documents; null: every tenant's (an admin's scope).</summary>
    public string? Tenant { get; init; }

    public string? Label { get; init; }

    /// <summary>Exact, case-sensitive entity text.</summary>
    public string? EntityText { get; init; }

    /// <summary>Case-insensitive prefix of an entity's text.</summary>
    public string? EntityPrefix { get; init; }

    /// <summary>Full-text query over the document text, in web-search syntax (<c>"new york" -city</c>).</summary>
    public string? Query { get; init; }

    /// <summary>Stored at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Stored before this time.</summary>
    public DateTimeOffset? To { get; init; }

    public bool? Reviewed { get; init; }

    /// <summary>Tagged by the model of this name.</summary>
    public string? ModelName { get; init; }

    /// <summary>Tagged by a model of this version.</summary>
    public string? ModelVersion { get; init; }
}

/// <summary>One page of documents in the order asked for; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record DocumentPage(IReadOnlyList<StoredDocument> Documents, string? NextCursor);

/// <summary>How many documents match a filter, and how many of those are reviewed.</summary>
public sealed record DocumentCounts(long Documents, long Reviewed);

/// <summary>How often an entity text occurs with a label across stored documents.</summary>
public sealed record EntityCount(string Label, string Text, long Count);

/// <summary>A document, correction or filter the store refuses; the message names the problem (a 400).</summary>
public sealed class InvalidDocumentException(string problem) : Exception(problem);

/// <summary>
/// The entity labels corrections may use: the default model's entity types (a model update keeps them). The
/// default registration reads them from the <see cref="NerService.Api.Tagging.TaggerRegistry"/>; register an instance before <c>AddDocumentStore</c> to
/// choose others.
/// </summary>
public sealed class KnownEntityLabels(IEnumerable<string> labels)
{
    public IReadOnlySet<string> Labels { get; } = labels.ToHashSet(StringComparer.Ordinal);
}
