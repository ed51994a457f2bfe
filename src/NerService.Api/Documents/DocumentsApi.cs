using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using NerService.Api.Database;
using NerService.Api.Security;

namespace NerService.Api.Documents;

/// <summary>Stored documents: read, list and search, delete, correct, export for training.</summary>
internal static class DocumentsApi
{
    /// <summary>Maps <c>/documents</c> and <c>/entities</c>.</summary>
    public static IEndpointRouteBuilder MapDocumentsApi(this IEndpointRouteBuilder routes)
    {
        // Reading and correcting need a reviewer; deleting and exporting (marked below) an admin.
        MapDocumentsGroup(routes).RequireRole(ApiRole.Reviewer);
        routes.MapEntitiesApi().RequireRole(ApiRole.Reviewer);
        return routes;
    }

    private static RouteGroupBuilder MapDocumentsGroup(IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/documents")
            .WithTags("Documents")
            .AddEndpointFilter(DatabaseUnavailable.Filter)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        group.MapGet("/", List)
            .WithName("ListDocuments")
            .WithSummary("Lists stored documents, newest first or least confident first, with filters and a cursor for the next page.")
            .WithDescription("The caller's tenant's documents (an admin's: every tenant's, or tenant=NAME). Filters: " + FilterDescription + "; "
                + "order: newest (default) or least-confident (lowest entity score first, documents without scored entities last); limit 1-100 (default 20); cursor: the nextCursor of the previous page, with the same order. "
                + $"Each document carries at most {DocumentStore.MaxEntitiesPerListedDocument} entities; entitiesTruncated is true when it has more (GET /documents/{{id}} returns them all). "
                + "lowestEntityScore: the lowest score of the entities the model gave the document when it was tagged (null when none).")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/count", Count)
            .WithName("CountDocuments")
            .WithSummary("Counts the stored documents that match the filters, and how many of them are reviewed.")
            .WithDescription("The same filters as GET /documents: " + FilterDescription + ".")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/export", Export)
            .RequireRole(ApiRole.Admin)
            .WithName("ExportDocuments")
            .WithSummary("Streams stored documents as CoNLL training data (token and IOB2 tag per line).")
            .WithDescription("Every tenant's documents; tenant=NAME exports one tenant's. Documents are read 100 at a time, each batch under the database command timeout.")
            .Produces<string>(StatusCodes.Status200OK, "text/plain")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id:long}", Get)
            .WithName("GetDocument")
            .WithSummary("Gets a stored document with its entities.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id:long}", Delete)
            .RequireRole(ApiRole.Admin)
            .WithName("DeleteDocument")
            .WithSummary("Deletes a stored document and its entities.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{id:long}/entities", ReplaceEntities)
            .WithName("CorrectDocumentEntities")
            .WithSummary("Replaces a document's entities with corrected ones and marks it reviewed.")
            // The body is read in the handler rather than declared with Accepts<T>: routing would answer a wrong
            // content type with a bare 415, and a bad body with a bare 400, where clients get problem details.
            .WithDescription("Body: {\"entities\": [{\"label\": \"PER\", \"start\": 0, \"end\": 6, \"text\": \"Jordan\"}]}; text is optional and checked when given.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return group;
    }

    private static async Task<Results<Ok<DocumentResponse>, ProblemHttpResult>> Get(long id, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        // Another tenant's document is "not found" too: its existence is none of this caller's business.
        var document = await store.GetAsync(id, http.GetApiClient().Scope, cancellationToken);
        return document is null ? NotFound(id) : TypedResults.Ok(document.AsResponse());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(long id, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(id, http.GetApiClient().Scope, cancellationToken))
            return NotFound(id);
        return TypedResults.NoContent();
    }

    private const string FilterDescription = "label, text (exact entity text), prefix (case-insensitive entity prefix), q (full-text, web-search syntax), "
        + "from (inclusive) and to (exclusive) ISO 8601 times, reviewed, model (the tagging model's name), modelVersion";

    private static async Task<Results<Ok<DocumentListResponse>, ProblemHttpResult>> List(
        [AsParameters] DocumentFilterQuery filters, string? order, string? cursor, string? limit, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        var query = new QueryReader(http.GetApiClient());
        var filter = filters.ToFilter(query);
        var pageSize = query.PageSize(limit, DocumentStore.MaxPageSize);
        var leastConfident = order is "least-confident";
        if (order is not (null or "" or "newest" or "least-confident"))
            query.Refuse($"Unknown order '{order}'; use 'newest' (the default) or 'least-confident'.");
        DocumentCursor? after = null;
        ConfidenceCursor? afterConfidence = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (!leastConfident && DocumentCursor.TryDecode(cursor, out var decoded))
                after = decoded;
            else if (leastConfident && ConfidenceCursor.TryDecode(cursor, out var decodedConfidence))
                afterConfidence = decodedConfidence;
            else
                query.Refuse("The cursor is not one this service issued for this order; pass the nextCursor of the previous page unchanged, with the same order.");
        }
        if (query.Problem is { } problem)
            return QueryReader.BadRequest(problem);

        var page = leastConfident
            ? await store.ListLeastConfidentAsync(filter, afterConfidence, pageSize, cancellationToken)
            : await store.ListAsync(filter, after, pageSize, cancellationToken);
        return TypedResults.Ok(new DocumentListResponse(page.Documents.Select(d => d.AsResponse()).ToList(), page.NextCursor));
    }

    private static async Task<Results<Ok<DocumentCounts>, ProblemHttpResult>> Count(
        [AsParameters] DocumentFilterQuery filters, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        var query = new QueryReader(http.GetApiClient());
        var filter = filters.ToFilter(query);
        if (query.Problem is { } problem)
            return QueryReader.BadRequest(problem);
        return TypedResults.Ok(await store.CountAsync(filter, cancellationToken));
    }

    private static async Task<Results<Ok<DocumentResponse>, ProblemHttpResult>> ReplaceEntities(
        long id, HttpRequest request, DocumentStore store, KnownEntityLabels labels, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            return TypedResults.Problem(title: "Unsupported media type", detail: "Send the corrected entities as application/json.",
                statusCode: StatusCodes.Status415UnsupportedMediaType);
        }
        EntityCorrectionRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync<EntityCorrectionRequest>(cancellationToken);
        }
        catch (JsonException ex)
        {
            return QueryReader.BadRequest($"The body is not a valid correction: invalid JSON at {ex.Path ?? "$"}.");
        }
        if (body?.Entities is not { } corrections)
            return QueryReader.BadRequest("The body needs an 'entities' array (empty to remove all entities).");

        var entities = new List<CorrectedEntity>(corrections.Count);
        for (var i = 0; i < corrections.Count; i++)
        {
            if (corrections[i] is not { Label: { } entityLabel, Start: { } start, End: { } end } correction)
                return QueryReader.BadRequest($"entities[{i}]: 'label', 'start' and 'end' are required.");
            entities.Add(new CorrectedEntity(entityLabel, start, end, correction.Text));
        }

        try
        {
            var document = await store.ReplaceEntitiesAsync(id, request.HttpContext.GetApiClient().Scope, entities, labels.Labels, cancellationToken);
            return document is null ? NotFound(id) : TypedResults.Ok(document.AsResponse());
        }
        catch (InvalidDocumentException ex)
        {
            return QueryReader.BadRequest(ex.Message);
        }
    }

    private static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> Export(
        string? format, string? reviewed, string? tenant, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        var query = new QueryReader(http.GetApiClient());
        if (format is not (null or "" or "conll"))
            query.Refuse($"Unknown export format '{format}'; the only format is 'conll'.");
        var reviewedOnly = query.Boolean(reviewed, "reviewed");
        var scope = query.Scope(tenant);
        if (query.Problem is { } problem)
            return QueryReader.BadRequest(problem);

        var documents = await store.OpenStreamAsync(reviewedOnly, scope, cancellationToken);
        return TypedResults.Stream(async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16);
            await foreach (var document in documents.ReadAllAsync(cancellationToken))
                await ConllExport.WriteDocumentAsync(writer, document);
        }, ConllExport.ContentType);
    }

    private static ProblemHttpResult NotFound(long id) =>
        TypedResults.Problem(title: "Document not found", detail: $"There is no document with id '{id}'.", statusCode: StatusCodes.Status404NotFound);

    private static DocumentResponse AsResponse(this StoredDocument document) => new(
        document.Id,
        document.Tenant,
        document.Text,
        new DocumentModel(document.ModelName, document.ModelVersion),
        document.CreatedAt,
        document.Reviewed,
        // JSON has no infinity: a document the model gave no entity has no lowest score.
        float.IsFinite(document.LowestEntityScore) ? document.LowestEntityScore : null,
        document.Entities.Select(e => new DocumentEntityResponse(e.Text, e.Label, e.Start, e.End, e.Score)).ToList(),
        document.EntitiesTruncated);
}

/// <summary>
/// A stored document and the tenant it belongs to. Offsets count UTF-16 code units; <c>end</c> is exclusive.
/// <c>entitiesTruncated</c> is true in a list page when the document has more entities than the page carries.
/// <c>lowestEntityScore</c> is the lowest score of the entities the model gave it when it was tagged (corrections
/// leave it), null when the model gave none; <c>order=least-confident</c> lists by it.
/// </summary>
public sealed record DocumentResponse(long Id, string Tenant, string Text, DocumentModel Model, DateTimeOffset CreatedAt, bool Reviewed,
    float? LowestEntityScore, IReadOnlyList<DocumentEntityResponse> Entities, bool EntitiesTruncated);

/// <summary>The model that tagged a document.</summary>
public sealed record DocumentModel(string Name, string Version);

/// <summary>A stored entity; <c>score</c> is null for entities a person entered.</summary>
public sealed record DocumentEntityResponse(string Text, string Label, int Start, int End, float? Score);

/// <summary>A page of documents; pass <c>nextCursor</c> as <c>cursor</c> for the next one (null on the last page).</summary>
public sealed record DocumentListResponse(IReadOnlyList<DocumentResponse> Documents, string? NextCursor);

/// <summary>The corrected entities of a document; they replace all its entities.</summary>
public sealed record EntityCorrectionRequest(IReadOnlyList<EntityCorrection?>? Entities);

/// <summary>A corrected entity. <c>text</c> is optional; when given it must equal the text at <c>start..end</c>.</summary>
public sealed record EntityCorrection(string? Label, int? Start, int? End, string? Text);
