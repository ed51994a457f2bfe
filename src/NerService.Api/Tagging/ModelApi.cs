using Microsoft.AspNetCore.Http.HttpResults;
using NerService.Api.OpenApi;

namespace NerService.Api.Tagging;

/// <summary><c>GET /model</c>: what is being served.</summary>
internal static class ModelApi
{
    public static IEndpointRouteBuilder MapModelApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/model", GetModel)
            .WithTags("Model")
            .WithName("GetModel")
            .WithSummary("Describe the served models.")
            .WithDescription("The default model's name, version, entity types, tagging scheme, validation metrics and checksums of the "
                + "training data, and the same for every served model under the name a request gives in \"model\" (models).")
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .WithExamples(null, TaggingExamples.Model);
        return app;
    }

    internal static Ok<ModelsResponse> GetModel(TaggerRegistry models)
    {
        var info = models.Default.Info;
        return TypedResults.Ok(new ModelsResponse(
            info.Name, info.Version, info.EntityTypes, info.TaggingScheme, info.Tags,
            info.ValidationMetrics, info.DataChecksums, info.CreatedAt, info.SourceCommit,
            models.Default.Name, models.Models.ToDictionary(m => m.Name, m => ModelResponse.From(m.Info))));
    }
}
