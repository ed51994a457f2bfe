using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using NerService.Api.Database;
using NerService.Api.Security;

namespace NerService.Api.Documents;

/// <summary>Stored documents: read, list and search, delete, correct, export for training.</summary>
internal static class DocumentsApi
{
    public const int DefaultPageSize = 20;

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
        group.MapGet("/{id}", Get)
            .WithName("GetDocument")
            .WithSummary("Gets a stored document with its entities.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id}", Delete)
            .RequireRole(ApiRole.Admin)
            .WithName("DeleteDocument")
            .WithSummary("Deletes a stored document and its entities.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{id}/entities", ReplaceEntities)
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

    private static async Task<Results<Ok<DocumentResponse>, ProblemHttpResult>> Get(string id, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var documentId))
            return NotFound(id);
        // Another tenant's document is "not found" too: its existence is none of this caller's business.
        var document = await store.GetAsync(documentId, http.GetApiClient().Scope, cancellationToken);
        return document is null ? NotFound(id) : TypedResults.Ok(document.AsResponse());
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> Delete(string id, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var documentId) || !await store.DeleteAsync(documentId, http.GetApiClient().Scope, cancellationToken))
            return NotFound(id);
        return TypedResults.NoContent();
    }

    private const string FilterDescription = "label, text (exact entity text), prefix (case-insensitive entity prefix), q (full-text, web-search syntax), "
        + "from (inclusive) and to (exclusive) ISO 8601 times, reviewed, model (the tagging model's name), modelVersion";

    private static async Task<Results<Ok<DocumentListResponse>, ProblemHttpResult>> List(
        string? label, string? text, string? prefix, string? q, string? from, string? to, string? reviewed, string? model, string? modelVersion,
        string? order, string? cursor, string? limit, string? tenant, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        string? problem = null;
        var filter = Filter(http, label, text, prefix, q, from, to, reviewed, model, modelVersion, tenant, ref problem);
        var pageSize = PageSize(limit, DocumentStore.MaxPageSize, ref problem);
        var leastConfident = order switch
        {
            null or "" or "newest" => false,
            "least-confident" => true,
            _ => Refuse($"Unknown order '{order}'; use 'newest' (the default) or 'least-confident'.", ref problem),
        };
        const string ForeignCursor = "The cursor is not one this service issued for this order; pass the nextCursor of the previous page unchanged, with the same order.";
        DocumentCursor? after = null;
        ConfidenceCursor? afterConfidence = null;
        if (!string.IsNullOrEmpty(cursor))
        {
            if (!leastConfident && DocumentCursor.TryDecode(cursor, out var decoded))
                after = decoded;
            else if (leastConfident && ConfidenceCursor.TryDecode(cursor, out var decodedConfidence))
                afterConfidence = decodedConfidence;
            else
                problem ??= ForeignCursor;
        }
        if (problem is not null)
            return BadRequest(problem);

        var page = leastConfident
            ? await store.ListLeastConfidentAsync(filter, afterConfidence, pageSize, cancellationToken)
            : await store.ListAsync(filter, after, pageSize, cancellationToken);
        return TypedResults.Ok(new DocumentListResponse(page.Documents.Select(d => d.AsResponse()).ToList(), page.NextCursor));
    }

    private static async Task<Results<Ok<DocumentCountsResponse>, ProblemHttpResult>> Count(
        string? label, string? text, string? prefix, string? q, string? from, string? to, string? reviewed, string? model, string? modelVersion,
        string? tenant, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        string? problem = null;
        var filter = Filter(http, label, text, prefix, q, from, to, reviewed, model, modelVersion, tenant, ref problem);
        if (problem is not null)
            return BadRequest(problem);
        var counts = await store.CountAsync(filter, cancellationToken);
        return TypedResults.Ok(new DocumentCountsResponse(counts.Documents, counts.Reviewed));
    }

    private static DocumentFilter Filter(HttpContext http, string? label, string? text, string? prefix, string? q, string? from, string? to,
        string? reviewed, string? model, string? modelVersion, string? tenant, ref string? problem) => new()
    {
        Tenant = Scope(http.GetApiClient(), tenant, ref problem),
        Label = Text(label, "label", ref problem),
        EntityText = Text(text, "text", ref problem),
        EntityPrefix = Text(prefix, "prefix", ref problem),
        Query = Text(q, "q", ref problem),
        From = Time(from, "from", ref problem),
        To = Time(to, "to", ref problem),
        Reviewed = Boolean(reviewed, "reviewed", ref problem),
        ModelName = Text(model, "model", ref problem),
        ModelVersion = Text(modelVersion, "modelVersion", ref problem),
    };

    private static bool Refuse(string detail, ref string? problem)
    {
        problem ??= detail;
        return false;
    }

    private static async Task<Results<Ok<DocumentResponse>, ProblemHttpResult>> ReplaceEntities(
        string id, HttpRequest request, DocumentStore store, KnownEntityLabels labels, CancellationToken cancellationToken)
    {
        if (!TryParseId(id, out var documentId))
            return NotFound(id);
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
            return BadRequest($"The body is not a valid correction: invalid JSON at {ex.Path ?? "$"}.");
        }
        if (body?.Entities is not { } corrections)
            return BadRequest("The body needs an 'entities' array (empty to remove all entities).");

        var entities = new List<CorrectedEntity>(corrections.Count);
        for (var i = 0; i < corrections.Count; i++)
        {
            if (corrections[i] is not { Label: { } entityLabel, Start: { } start, End: { } end } correction)
                return BadRequest($"entities[{i}]: 'label', 'start' and 'end' are required.");
            entities.Add(new CorrectedEntity(entityLabel, start, end, correction.Text));
        }

        try
        {
            var document = await store.ReplaceEntitiesAsync(documentId, request.HttpContext.GetApiClient().Scope, entities, labels.Labels, cancellationToken);
            return document is null ? NotFound(id) : TypedResults.Ok(document.AsResponse());
        }
        catch (InvalidDocumentException ex)
        {
            return BadRequest(ex.Message);
        }
    }

    private static async Task<Results<PushStreamHttpResult, ProblemHttpResult>> Export(
        string? format, string? reviewed, string? tenant, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        string? problem = null;
        if (format is not (null or "" or "conll"))
            problem = $"Unknown export format '{format}'; the only format is 'conll'.";
        var reviewedOnly = Boolean(reviewed, "reviewed", ref problem);
        var scope = Scope(http.GetApiClient(), tenant, ref problem);
        if (problem is not null)
            return BadRequest(problem);

        var documents = await store.OpenStreamAsync(reviewedOnly, scope, cancellationToken);
        return TypedResults.Stream(async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16);
            await foreach (var document in documents.ReadAllAsync(cancellationToken))
                await ConllExport.WriteDocumentAsync(writer, document);
        }, ConllExport.ContentType);
    }

    /// <summary>
    /// The tenant a request reaches: the caller's own, or for an admin every tenant or the one named by <c>tenant</c>.
    /// Naming another tenant without being an admin is refused rather than ignored.
    /// </summary>
    internal static string? Scope(ApiClient client, string? tenant, ref string? problem)
    {
        if (string.IsNullOrEmpty(tenant) || tenant == client.Scope)
            return client.Scope;
        if (client.Role == ApiRole.Admin)
            return Text(tenant, "tenant", ref problem);
        problem ??= "'tenant' can only name another tenant with an admin key; leave it out to reach this key's own tenant.";
        return client.Scope;
    }

    internal static bool TryParseId(string id, out long documentId) =>
        long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out documentId) && documentId > 0;

    internal static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(title: "Document not found", detail: $"There is no document with id '{id}'.", statusCode: StatusCodes.Status404NotFound);

    internal static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(title: "Invalid request", detail: detail, statusCode: StatusCodes.Status400BadRequest);

    internal static string? Text(string? value, string name, ref string? problem)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (value.Contains('\0'))
            problem ??= $"'{name}' contains a NUL character.";
        return value;
    }

    internal static int PageSize(string? value, int max, ref string? problem)
    {
        if (string.IsNullOrEmpty(value))
            return DefaultPageSize;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size >= 1 && size <= max)
            return size;
        problem ??= $"'limit' must be a whole number from 1 to {max}.";
        return DefaultPageSize;
    }

    private static DateTimeOffset? Time(string? value, string name, ref string? problem)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
            return time;
        problem ??= $"'{name}' is not a date and time; use ISO 8601, e.g. 2025-01-31T12:00:00Z.";
        return null;
    }

    private static bool? Boolean(string? value, string name, ref string? problem)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (bool.TryParse(value, out var result))
            return result;
        problem ??= $"'{name}' must be true or false.";
        return null;
    }

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

/// <summary>How many stored documents match the filters, and how many of them are reviewed.</summary>
public sealed record DocumentCountsResponse(long Documents, long Reviewed);

/// <summary>The corrected entities of a document; they replace all its entities.</summary>
public sealed record EntityCorrectionRequest(IReadOnlyList<EntityCorrection?>? Entities);

/// <summary>A corrected entity. <c>text</c> is optional; when given it must equal the text at <c>start..end</c>.</summary>
public sealed record EntityCorrection(string? Label, int? Start, int? End, string? Text);
