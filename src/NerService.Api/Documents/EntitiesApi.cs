using Microsoft.AspNetCore.Http.HttpResults;
using NerService.Api.Database;
using NerService.Api.Security;

namespace NerService.Api.Documents;

/// <summary>Entities across the caller's tenant's stored documents (an admin's: every tenant's).</summary>
internal static class EntitiesApi
{
    public static RouteGroupBuilder MapEntitiesApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/entities")
            .WithTags("Documents")
            .AddEndpointFilter(DatabaseUnavailable.Filter)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/", Top)
            .WithName("TopEntities")
            .WithSummary("The most frequent entities (label and text) with their counts, optionally of one label and with a case-insensitive prefix.")
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return group;
    }

    private static async Task<Results<Ok<EntityCountsResponse>, ProblemHttpResult>> Top(
        string? label, string? prefix, string? limit, string? tenant, DocumentStore store, HttpContext http, CancellationToken cancellationToken)
    {
        string? problem = null;
        var scope = DocumentsApi.Scope(http.GetApiClient(), tenant, ref problem);
        var labelFilter = DocumentsApi.Text(label, "label", ref problem);
        var prefixFilter = DocumentsApi.Text(prefix, "prefix", ref problem);
        var count = DocumentsApi.PageSize(limit, DocumentStore.MaxPageSize, ref problem);
        if (problem is not null)
            return DocumentsApi.BadRequest(problem);
        var counts = await store.TopEntitiesAsync(scope, labelFilter, prefixFilter, count, cancellationToken);
        return TypedResults.Ok(new EntityCountsResponse(counts.Select(c => new EntityCountResponse(c.Label, c.Text, c.Count)).ToList()));
    }
}

public sealed record EntityCountsResponse(IReadOnlyList<EntityCountResponse> Entities);

/// <summary>How many stored entities have this label and exactly this text.</summary>
public sealed record EntityCountResponse(string Label, string Text, long Count);
