using Microsoft.AspNetCore.Http.HttpResults;
using NerService.Api.Errors;
using NerService.Api.OpenApi;
using NerService.Api.Security;

namespace NerService.Api.Tagging;

/// <summary><c>GET /model</c>: what is being served; <c>POST /models/{name}/load</c> and <c>/restore</c>: model updates without downtime.</summary>
internal static class ModelApi
{
    public static IEndpointRouteBuilder MapModelApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/model", GetModel)
            .WithTags("Model")
            .WithName("GetModel")
            .WithSummary("Describe the served models.")
            .WithDescription("The default model's name, version, entity types, tagging scheme, validation metrics and checksums of the "
                + "training data, and the same for every served model under the name a request gives in \"model\" (models). "
                + "After a model update it describes the bundle serving new requests.")
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .WithExamples(null, TaggingExamples.Model);

        var updates = app.MapGroup("/models/{name}")
            .WithTags("Model")
            .RequireRole(ApiRole.Admin)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .ProducesProblem(StatusCodes.Status500InternalServerError);
        updates.MapPost("/load", LoadModel)
            .WithName("LoadModel")
            .WithSummary("Serve another bundle under a model name, without downtime.")
            .WithDescription("Loads the bundle (a file in the models folder, Ner:ModelsDirectory, named relative to it) beside the served model, "
                + "checks it (the bundle's schema and checksums, the same entity types as the served model, a test sentence tagged through "
                + "its own queue), then switches: requests already tagging finish on the old model, new ones use the new one, no request "
                + "fails and readiness never drops; the old model is freed after its last request. Responses of POST /ner and /ner/batch "
                + "and stored documents name the model that tagged them. Errors: 400 for a bundle outside the models folder or not there, "
                + "404 for a model name this service does not serve, 422 for a bundle that fails a check (the served model is unchanged; "
                + "detail says why), 403 for a key without the admin role.")
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithExamples(TaggingExamples.LoadRequest, TaggingExamples.Switch, TaggingExamples.SwitchProblems);
        updates.MapPost("/restore", RestoreModel)
            .WithName("RestoreModel")
            .WithSummary("Serve again the bundle a model name served before its last update.")
            .WithDescription("Loads, checks and switches to the previous bundle exactly as a load does; restoring twice goes back and forth. "
                + "409 when the name has served one bundle only, 422 when the previous bundle no longer passes the checks.")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .WithExamples(null, TaggingExamples.Switch, TaggingExamples.SwitchProblems);
        return app;
    }

    internal static Ok<ModelsResponse> GetModel(TaggerRegistry models)
    {
        var served = models.Models;
        var info = served[0].Info;
        return TypedResults.Ok(new ModelsResponse(
            info.Name, info.Version, info.EntityTypes, info.TaggingScheme, info.Tags,
            info.ValidationMetrics, info.DataChecksums, info.CreatedAt, info.SourceCommit,
            served[0].Name, served.ToDictionary(m => m.Name, m => ModelResponse.From(m.Info))));
    }

    private static async Task<Results<Ok<ModelSwitch>, ValidationProblem, ProblemHttpResult>> LoadModel(
        string name, ModelLoadRequest request, TaggerRegistry models, ModelUpdates updates, HttpContext http)
    {
        if (!models.Contains(name))
            return UnknownModel(name, models);
        if (string.IsNullOrWhiteSpace(request.Bundle))
            return Problems.InvalidField("bundle", "The field 'bundle' must name a bundle file in the models folder.");
        return await SwitchAsync(http, () => updates.LoadAsync(name, request.Bundle, http.RequestAborted));
    }

    private static async Task<Results<Ok<ModelSwitch>, ValidationProblem, ProblemHttpResult>> RestoreModel(
        string name, TaggerRegistry models, ModelUpdates updates, HttpContext http)
    {
        if (!models.Contains(name))
            return UnknownModel(name, models);
        return await SwitchAsync(http, () => updates.RestoreAsync(name, http.RequestAborted));
    }

    private static async Task<Results<Ok<ModelSwitch>, ValidationProblem, ProblemHttpResult>> SwitchAsync(HttpContext http, Func<Task<ModelSwitch>> update)
    {
        try
        {
            return TypedResults.Ok(await update());
        }
        catch (ModelUpdateException refused)
        {
            return TypedResults.Problem(statusCode: refused.Status, title: refused.Title, detail: refused.Message);
        }
        catch (ObjectDisposedException)
        {
            return Problems.ShuttingDown(http);
        }
    }

    private static ProblemHttpResult UnknownModel(string name, TaggerRegistry models) => TypedResults.Problem(
        statusCode: StatusCodes.Status404NotFound,
        title: "No such model.",
        detail: $"There is no model '{name}'; this service serves {string.Join(", ", models.Names.Select(n => $"'{n}'"))}.");
}

/// <summary>The bundle to serve.</summary>
public sealed class ModelLoadRequest
{
    /// <summary>A bundle file in the models folder (<c>Ner:ModelsDirectory</c>, default <c>models</c>), named relative to it, e.g. <c>ner-default.v2.bundle</c>.</summary>
    public string? Bundle { get; init; }
}
