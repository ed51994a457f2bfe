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
        var query = new QueryReader(http.GetApiClient());
        var scope = query.Scope(tenant);
        var labelFilter = query.Text(label, "label");
        var prefixFilter = query.Text(prefix, "prefix");
        var count = query.PageSize(limit, DocumentStore.MaxPageSize);
        if (query.Problem is { } problem)
            return QueryReader.BadRequest(problem);
        var counts = await store.TopEntitiesAsync(scope, labelFilter, prefixFilter, count, cancellationToken);
        return TypedResults.Ok(new EntityCountsResponse(counts));
    }
}

/// <summary>The most frequent entities, most frequent first.</summary>
public sealed record EntityCountsResponse(IReadOnlyList<EntityCount> Entities);
