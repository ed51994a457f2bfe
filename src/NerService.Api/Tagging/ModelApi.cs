using Microsoft.AspNetCore.Http.HttpResults;
using NerService.Api.OpenApi;
using NerService.Model.Inference;

namespace NerService.Api.Tagging;

/// <summary><c>GET /model</c>: what is being served.</summary>
internal static class ModelApi
{
    public static IEndpointRouteBuilder MapModelApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/model", GetModel)
            .WithTags("Model")
            .WithName("GetModel")
            .WithSummary("Describe the served model.")
            .WithDescription("Name, version, entity types, tagging scheme, validation metrics and checksums of the training data.")
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .WithExamples(null, TaggingExamples.Model);
        return app;
    }

    internal static Ok<ModelResponse> GetModel(BatchingTagger tagger) => TypedResults.Ok(ModelResponse.From(tagger.Model));
}
