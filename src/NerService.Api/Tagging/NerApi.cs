using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using NerService.Api.Errors;
using NerService.Api.OpenApi;
using NerService.Api.Options;
using NerService.Api.Security;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

/// <summary><c>POST /ner</c> and <c>POST /ner/batch</c>: entities in texts.</summary>
internal static class NerApi
{
    public static IEndpointRouteBuilder MapNerApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/ner")
            .WithTags("Tagging")
            .RequireApiKey()
            .RequireRateLimiting(ClientRateLimiting.PolicyName)
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
                + "Errors: 400 for a missing or mistyped field or invalid JSON (the field is named), 413 for a text over the limit, "
                + "415 without a JSON content type, 401 without a valid X-Api-Key (when keys are configured), 429 past the rate limit "
                + "and 503 when the queue is full (both with Retry-After).")
            .WithExamples(TaggingExamples.Request, TaggingExamples.Response);

        group.MapPost("/batch", TagBatch)
            .WithName("TagBatch")
            .WithSummary("Find the entities in several texts.")
            .WithDescription("Results come back in the order of the documents. A document that cannot be tagged (no text, "
                + "or a text over the limit) gets an error object of its own while the others are tagged. More documents than "
                + "the configured maximum (100 by default) is a 400 for the whole request.")
            .WithExamples(TaggingExamples.BatchRequest, TaggingExamples.BatchResponse);

        return app;
    }

    internal static async Task<Results<Ok<NerResponse>, ValidationProblem, ProblemHttpResult>> TagText(
        NerRequest request, BatchingTagger tagger, IOptions<NerOptions> options, HttpContext http)
    {
        if (request.Text is not { } text)
            return Problems.InvalidField("text", "The field 'text' is required.");
        if (!TryParseOffsetUnit(request.OffsetUnit, out var unit))
            return Problems.InvalidField("offsetUnit", OffsetUnitMessage("offsetUnit"));
        var limit = options.Value.Limits.MaxTextCharacters;
        if (text.Length > limit)
            return Problems.TextTooLong(text.Length, limit);

        try
        {
            var tagged = await TagAsync(tagger, text, request.IncludeTokens, http.RequestAborted);
            return TypedResults.Ok(new NerResponse(
                ModelReference.From(tagger.Model), Entities(text, tagged, unit), Tokens(text, tagged, unit)));
        }
        catch (QueueFullException)
        {
            return Problems.QueueFull(http);
        }
        catch (ObjectDisposedException)
        {
            return Problems.ShuttingDown(http);
        }
    }

    internal static async Task<Results<Ok<NerBatchResponse>, ValidationProblem, ProblemHttpResult>> TagBatch(
        NerBatchRequest request, BatchingTagger tagger, IOptions<NerOptions> options, HttpContext http)
    {
        if (request.Documents is not { } documents)
            return Problems.InvalidField("documents", "The field 'documents' is required.");
        var limits = options.Value.Limits;
        if (documents.Count > limits.MaxBatchDocuments)
            return Problems.InvalidField("documents", $"At most {limits.MaxBatchDocuments} documents are accepted per request; got {documents.Count}.");
        if (!TryParseOffsetUnit(request.OffsetUnit, out var unit))
            return Problems.InvalidField("offsetUnit", OffsetUnitMessage("offsetUnit"));

        // If the queue fills part-way, the documents already queued are cancelled so the model skips them.
        using var batchCancellation = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var work = new Task<TaggedText>?[documents.Count];
        var errors = new ProblemDetails?[documents.Count];
        try
        {
            for (var i = 0; i < documents.Count; i++)
            {
                errors[i] = DocumentError(documents[i], i, limits.MaxTextCharacters);
                if (errors[i] is null)
                    work[i] = TagAsync(tagger, documents[i]!.Text!, request.IncludeTokens, batchCancellation.Token);
            }
        }
        catch (Exception exception) when (exception is QueueFullException or ObjectDisposedException)
        {
            await batchCancellation.CancelAsync();
            return exception is QueueFullException ? Problems.QueueFull(http) : Problems.ShuttingDown(http);
        }

        await Task.WhenAll(work.OfType<Task<TaggedText>>());
        var results = new NerBatchResult[documents.Count];
        for (var i = 0; i < documents.Count; i++)
        {
            var id = documents[i]?.Id;
            if (work[i] is { } done)
            {
                var text = documents[i]!.Text!;
                var tagged = done.Result;
                results[i] = new NerBatchResult(id, Entities(text, tagged, unit), Tokens(text, tagged, unit), null);
            }
            else
                results[i] = new NerBatchResult(id, null, null, errors[i]);
        }
        return TypedResults.Ok(new NerBatchResponse(ModelReference.From(tagger.Model), results));
    }

    private static ProblemDetails? DocumentError(NerBatchDocument? document, int index, int maxCharacters)
    {
        if (document is null)
            return DocumentProblem(StatusCodes.Status400BadRequest, "The document is not valid.", $"documents[{index}] must be an object with a 'text'.");
        if (document.Text is null)
            return DocumentProblem(StatusCodes.Status400BadRequest, "The document is not valid.", $"The field 'documents[{index}].text' is required.");
        if (document.Text.Length > maxCharacters)
            return DocumentProblem(StatusCodes.Status413PayloadTooLarge, "Text too long.", $"The text has {document.Text.Length} characters; at most {maxCharacters} are accepted.");
        return null;
    }

    private static ProblemDetails DocumentProblem(int status, string title, string detail) => new() { Status = status, Title = title, Detail = detail };

    /// <summary>Empty and whitespace texts have no entities; they never reach the queue.</summary>
    private static Task<TaggedText> TagAsync(BatchingTagger tagger, string text, bool includeTokens, CancellationToken cancellationToken) =>
        string.IsNullOrWhiteSpace(text)
            ? Task.FromResult(new TaggedText([], includeTokens ? [] : null, 0, 0))
            : tagger.TagAsync(text, includeTokens, cancellationToken);

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
            .Select(e => new EntityResult(e.Text, e.Label, Convert(offsets, e.Start), Convert(offsets, e.End), e.Score))
            .ToList();
    }

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
