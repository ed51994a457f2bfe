using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using NerService.Api.Database;
using NerService.Api.Documents;
using NerService.Api.Errors;
using NerService.Api.OpenApi;
using NerService.Api.Options;
using NerService.Api.Security;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

/// <summary><c>POST /ner</c> and <c>POST /ner/batch</c>: entities in texts.</summary>
internal static class NerApi
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static IEndpointRouteBuilder MapNerApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/ner")
            .WithTags("Tagging")
            .RequireApiKey()
            .RequireTextRateLimit()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status500InternalServerError);

        group.MapPost("", TagText)
            .WithName("TagText")
            .WithSummary("Find the entities in one text.")
            .WithDescription("Offsets are UTF-16 code units by default (text.Substring(start, end - start) is the entity), "
                + "or code points with offsetUnit \"codepoint\". Multi-sentence texts are split into sentences and tagged whole. "
                + "The text and its entities are stored as a document unless the body says \"store\": false; the response then "
                + "carries the document's id and a Location header (/documents/{id}). An Idempotency-Key header makes retries safe: "
                + "a request with a key already stored by the same tenant answers with that document's id and stores nothing. "
                + "Each entity's score is the calibrated probability that exactly that span has exactly that label; minScore "
                + "(0 to 1) leaves out entities scored below it (what is stored is what the response shows), and "
                + "\"alternatives\": true adds each entity's other probable readings and the possibleEntities of uncertain stretches. "
                + "The response's model names the bundle (name and version) that tagged the text, which a stored document records too; "
                + "after a model update (POST /models/{name}/load) requests already tagging finish on the old model. "
                + "Errors: 400 for a missing or mistyped field or invalid JSON (the field is named), for a minScore outside [0, 1], or for a text with a NUL "
                + "character that is to be stored, 413 for a text over the limit, "
                + "415 without a JSON content type, 401 without a valid X-Api-Key (when keys are configured), 403 for a key without the tagger role, 429 past the rate limit "
                + "and 503 when the queue is full or, for a text to be stored, when the document database cannot be reached "
                + "(both with Retry-After; nothing is stored then).")
            .WithExamples(TaggingExamples.Request, TaggingExamples.Response);

        group.MapPost("/batch", TagBatch)
            .WithName("TagBatch")
            .WithSummary("Find the entities in several texts.")
            .WithDescription("Results come back in the order of the documents. A document that cannot be tagged (no text, "
                + "or a text over the limit) gets an error object of its own while the others are tagged. More documents than "
                + "the configured maximum (100 by default) is a 400 for the whole request, and so is a minScore outside [0, 1]; "
                + "minScore and alternatives apply to every document as in POST /ner. Unless the body says \"store\": false, "
                + "the tagged documents are stored in one transaction (all or none) and each result carries its documentId; a "
                + "document with a NUL character gets its own 400 error. With an Idempotency-Key header K, document i is stored "
                + "under the key K with batch index i (apart from single requests' keys), so retrying the batch with the same key stores nothing twice. When the document database "
                + "cannot be reached the whole request gets 503 with Retry-After and nothing is stored. All documents of one request are "
                + "tagged by the one model the response's model names, even across a model update.")
            .WithExamples(TaggingExamples.BatchRequest, TaggingExamples.BatchResponse);

        return app;
    }

    internal static async Task<Results<Ok<NerResponse>, ValidationProblem, ProblemHttpResult>> TagText(
        NerRequest request, TaggerRegistry models, DocumentWriter documents, IOptions<NerOptions> options, HttpContext http,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey)
    {
        if (request.Text is not { } text)
            return Problems.InvalidField("text", "The field 'text' is required.");
        // Held until the response is made: a model update meanwhile lets this request finish on the model it started
        // with, and the stored document and the response name that model.
        if (!models.TryLease(request.Model, out var lease))
            return UnknownModel(request.Model!, models);
        using var _ = lease;
        var tagger = lease.Model.Tagger;
        if (!TryParseOffsetUnit(request.OffsetUnit, out var unit))
            return Problems.InvalidField("offsetUnit", OffsetUnitMessage("offsetUnit"));
        if (MinScoreProblem(request.MinScore) is { } minScoreProblem)
            return Problems.InvalidField("minScore", minScoreProblem);
        var limit = options.Value.Limits.MaxTextCharacters;
        if (text.Length > limit)
            return Problems.TextTooLong(text.Length, limit);
        if (request.Store)
        {
            // Refused before tagging: a request that cannot be stored should not cost a forward pass.
            if (DocumentValidation.FindNulProblem(text, "text") is { } nul)
                return Problems.InvalidField("text", nul);
            if (DocumentValidation.FindIdempotencyKeyProblem(idempotencyKey) is { } keyProblem)
                return Problems.InvalidHeader(IdempotencyKeyHeader, keyProblem);
        }

        TaggedText tagged;
        try
        {
            tagged = Keep(await TagAsync(tagger, text, request.IncludeTokens, request.Alternatives, http.RequestAborted), request.MinScore);
        }
        catch (QueueFullException)
        {
            return Problems.QueueFull(http);
        }
        catch (ObjectDisposedException)
        {
            return Problems.ShuttingDown(http);
        }

        long? id = null;
        if (request.Store)
        {
            try
            {
                id = await documents.StoreAsync(
                    new NewDocument(text, tagged.Entities, tagger.Model.Name, tagger.Model.Version, idempotencyKey) { Tenant = http.GetApiClient().Tenant },
                    http.RequestAborted);
            }
            catch (DatabaseUnavailableException unavailable)
            {
                return NotStored(http, unavailable);
            }
            catch (InvalidDocumentException refused)
            {
                return Problems.InvalidField("text", refused.Message);
            }
            http.Response.Headers.Location = $"/documents/{id}";
        }
        return TypedResults.Ok(new NerResponse(
            id, ModelReference.From(tagger.Model), Entities(text, tagged, unit), Tokens(text, tagged, unit), PossibleEntities(text, tagged, unit)));
    }

    internal static async Task<Results<Ok<NerBatchResponse>, ValidationProblem, ProblemHttpResult>> TagBatch(
        NerBatchRequest request, TaggerRegistry models, DocumentWriter documentWriter, IOptions<NerOptions> options, HttpContext http,
        [FromHeader(Name = IdempotencyKeyHeader)] string? idempotencyKey)
    {
        if (request.Documents is not { } documents)
            return Problems.InvalidField("documents", "The field 'documents' is required.");
        // Held until the response is made: a model update meanwhile lets this request finish on the model it started
        // with, and the stored document and the response name that model.
        if (!models.TryLease(request.Model, out var lease))
            return UnknownModel(request.Model!, models);
        using var _ = lease;
        var tagger = lease.Model.Tagger;
        var limits = options.Value.Limits;
        if (documents.Count > limits.MaxBatchDocuments)
            return Problems.InvalidField("documents", $"At most {limits.MaxBatchDocuments} documents are accepted per request; got {documents.Count}.");
        if (!TryParseOffsetUnit(request.OffsetUnit, out var unit))
            return Problems.InvalidField("offsetUnit", OffsetUnitMessage("offsetUnit"));
        if (MinScoreProblem(request.MinScore) is { } minScoreProblem)
            return Problems.InvalidField("minScore", minScoreProblem);
        if (request.Store && DocumentValidation.FindIdempotencyKeyProblem(idempotencyKey) is { } keyProblem)
            return Problems.InvalidHeader(IdempotencyKeyHeader, keyProblem);

        // If the queue fills part-way, the documents already queued are cancelled so the model skips them.
        using var batchCancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var work = new Task<TaggedText>?[documents.Count];
        var errors = new ProblemDetails?[documents.Count];
        var toTag = new List<int>();
        for (var i = 0; i < documents.Count; i++)
        {
            errors[i] = DocumentError(documents[i], i, limits.MaxTextCharacters, request.Store);
            if (errors[i] is not null)
                continue;
            if (string.IsNullOrWhiteSpace(documents[i]!.Text))
                work[i] = KeepAsync(TagAsync(tagger, documents[i]!.Text!, request.IncludeTokens, request.Alternatives, batchCancellation.Token), request.MinScore);
            else
                toTag.Add(i);
        }
        try
        {
            // Admitted together: a batch larger than the queue's token budget still runs when nothing else waits.
            if (toTag.Count > 0)
            {
                var tagging = tagger.TagAllAsync(toTag.Select(i => documents[i]!.Text!).ToList(), request.IncludeTokens, request.Alternatives, batchCancellation.Token);
                for (var k = 0; k < toTag.Count; k++)
                    work[toTag[k]] = KeepAsync(tagging[k], request.MinScore);
            }
        }
        catch (Exception exception) when (exception is QueueFullException or ObjectDisposedException)
        {
            await batchCancellation.CancelAsync();
            return exception is QueueFullException ? Problems.QueueFull(http) : Problems.ShuttingDown(http);
        }
        await Task.WhenAll(work.OfType<Task<TaggedText>>());

        var documentIds = new long?[documents.Count];
        if (request.Store)
        {
            var taggedIndexes = Enumerable.Range(0, documents.Count).Where(i => work[i] is not null).ToList();
            // Document i keeps the batch's key with batch index i: a retried batch finds each document again, and
            // no single request's key (not even "K#0") reaches them.
            var toStore = taggedIndexes.Select(i => new NewDocument(documents[i]!.Text!, work[i]!.Result.Entities, tagger.Model.Name,
                tagger.Model.Version, idempotencyKey) { Tenant = http.GetApiClient().Tenant, IdempotencyBatchIndex = i }).ToList();
            try
            {
                var ids = await documentWriter.StoreAllAsync(toStore, http.RequestAborted);
                for (var k = 0; k < taggedIndexes.Count; k++)
                    documentIds[taggedIndexes[k]] = ids[k];
            }
            catch (DatabaseUnavailableException unavailable)
            {
                return NotStored(http, unavailable);
            }
            catch (InvalidDocumentException refused)
            {
                return Problems.InvalidField("documents", refused.Message);
            }
        }

        var results = new NerBatchResult[documents.Count];
        for (var i = 0; i < documents.Count; i++)
        {
            var id = documents[i]?.Id;
            if (work[i] is { } done)
            {
                var text = documents[i]!.Text!;
                var tagged = done.Result;
                results[i] = new NerBatchResult(id, documentIds[i], Entities(text, tagged, unit), Tokens(text, tagged, unit), null,
                    PossibleEntities(text, tagged, unit));
            }
            else
                results[i] = new NerBatchResult(id, null, null, null, errors[i]);
        }
        return TypedResults.Ok(new NerBatchResponse(ModelReference.From(tagger.Model), results));
    }

    /// <summary>400 naming the models this service does serve, in <c>detail</c> and as <c>knownModels</c>.</summary>
    private static ValidationProblem UnknownModel(string name, TaggerRegistry models)
    {
        var message = $"There is no model '{name}'; this service serves {string.Join(", ", models.Names.Select(n => $"'{n}'"))} (default '{models.Default.Name}').";
        return TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { ["model"] = [message] },
            detail: message,
            title: "The request body is not valid.",
            extensions: new Dictionary<string, object?> { ["knownModels"] = models.Names });
    }

    private static ProblemHttpResult NotStored(HttpContext http, DatabaseUnavailableException unavailable)
    {
        http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(NerApi))
            .LogWarning("{Method} {Path}: tagged but not stored: {Message}", http.Request.Method, http.Request.Path, unavailable.Message);
        return DatabaseUnavailable.Problem(http,
            "The document database cannot be reached right now, so nothing was stored. Retry later (with the same "
            + "Idempotency-Key, if you sent one), or send \"store\": false to tag without storing.");
    }

    private static ProblemDetails? DocumentError(NerBatchDocument? document, int index, int maxCharacters, bool store)
    {
        if (document is null)
            return DocumentProblem(StatusCodes.Status400BadRequest, "The document is not valid.", $"documents[{index}] must be an object with a 'text'.");
        if (document.Text is null)
            return DocumentProblem(StatusCodes.Status400BadRequest, "The document is not valid.", $"The field 'documents[{index}].text' is required.");
        if (document.Text.Length > maxCharacters)
            return DocumentProblem(StatusCodes.Status413PayloadTooLarge, "Text too long.", $"The text has {document.Text.Length} characters; at most {maxCharacters} are accepted.");
        if (store && DocumentValidation.FindNulProblem(document.Text, $"field 'documents[{index}].text'") is { } nul)
            return DocumentProblem(StatusCodes.Status400BadRequest, "The document cannot be stored.", nul);
        return null;
    }

    private static ProblemDetails DocumentProblem(int status, string title, string detail) => new() { Status = status, Title = title, Detail = detail };

    /// <summary>Empty and whitespace texts have no entities; they never reach the queue.</summary>
    private static Task<TaggedText> TagAsync(BatchingTagger tagger, string text, bool includeTokens, bool alternatives, CancellationToken cancellationToken) =>
        string.IsNullOrWhiteSpace(text)
            ? Task.FromResult(new TaggedText([], includeTokens ? [] : null, 0, 0) { PossibleEntities = alternatives ? [] : null })
            : tagger.TagAsync(text, includeTokens, alternatives, cancellationToken);

    private static string? MinScoreProblem(double? minScore) =>
        minScore is null or (>= 0 and <= 1) ? null : "The field 'minScore' must be a number between 0 and 1.";

    /// <summary>Leaves out the entities scored below <paramref name="minScore"/>; what is stored is what the response shows.</summary>
    private static TaggedText Keep(TaggedText tagged, double? minScore) =>
        minScore is not > 0 ? tagged : tagged with { Entities = tagged.Entities.Where(e => e.Score >= minScore).ToList() };

    private static async Task<TaggedText> KeepAsync(Task<TaggedText> tagging, double? minScore) => Keep(await tagging, minScore);

    private static bool TryParseOffsetUnit(string? value, out OffsetUnit unit)
    {
        switch (value?.ToLowerInvariant())
        {
            case null or "utf16" or "utf-16":
                unit = OffsetUnit.Utf16;
                return true;
            case "codepoint" or "codepoints":
                unit = OffsetUnit.CodePoint;
                return true;
            default:
                unit = default;
                return false;
        }
    }

    private static string OffsetUnitMessage(string field) => $"The field '{field}' must be \"utf16\" or \"codepoint\".";

    private static List<EntityResult> Entities(string text, TaggedText tagged, OffsetUnit unit)
    {
        var offsets = unit == OffsetUnit.CodePoint && tagged.Entities.Count > 0 ? new CodePointOffsets(text) : null;
        return tagged.Entities
            .Select(e => new EntityResult(e.Text, e.Label, Convert(offsets, e.Start), Convert(offsets, e.End), e.Score,
                e.Alternatives?.Select(a => Alternative(offsets, a)).ToList()))
            .ToList();
    }

    private static List<AlternativeResult>? PossibleEntities(string text, TaggedText tagged, OffsetUnit unit)
    {
        if (tagged.PossibleEntities is null)
            return null;
        var offsets = unit == OffsetUnit.CodePoint && tagged.PossibleEntities.Count > 0 ? new CodePointOffsets(text) : null;
        return tagged.PossibleEntities.Select(a => Alternative(offsets, a)).ToList();
    }

    private static AlternativeResult Alternative(CodePointOffsets? offsets, EntityAlternative a) =>
        new(a.Text, a.Label, Convert(offsets, a.Start), Convert(offsets, a.End), a.Probability);

    private static List<TokenResult>? Tokens(string text, TaggedText tagged, OffsetUnit unit)
    {
        if (tagged.Tokens is null)
            return null;
        var offsets = unit == OffsetUnit.CodePoint && tagged.Tokens.Count > 0 ? new CodePointOffsets(text) : null;
        return tagged.Tokens
            .Select(t => new TokenResult(t.Text, Convert(offsets, t.Start), Convert(offsets, t.End), t.Tag, t.Probability))
            .ToList();
    }

    private static int Convert(CodePointOffsets? offsets, int utf16Offset) => offsets?.FromUtf16(utf16Offset) ?? utf16Offset;
}
