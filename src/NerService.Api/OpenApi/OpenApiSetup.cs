using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using NerService.Api.Security;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NerService.Api.OpenApi;

/// <summary>The OpenAPI document at <c>/swagger/v1/swagger.json</c> and Swagger UI at <c>/swagger</c>.</summary>
internal static class OpenApiSetup
{
    public static IServiceCollection AddNerOpenApi(this IServiceCollection services)
    {
        services.AddEndpointsApiExplorer();
        services.AddSwaggerGen(swagger =>
        {
            swagger.SwaggerDoc("v1", new OpenApiInfo
            {
                Title = "NerService",
                Version = "v1",
                Description = "Named-entity recognition: people, places, organisations and other names in English text. "
                    + "Every error is an RFC 7807 problem details body.",
            });
            var xml = Path.Combine(AppContext.BaseDirectory, "NerService.Api.xml");
            if (File.Exists(xml))
                swagger.IncludeXmlComments(xml);
            swagger.AddSecurityDefinition("ApiKey", new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = ApiKeys.HeaderName,
                Description = "Needed by the tagging endpoints when the service is configured with API keys.",
            });
            swagger.OperationFilter<ExamplesOperationFilter>();
        });
        return services;
    }

    public static WebApplication MapNerOpenApi(this WebApplication app)
    {
        app.UseSwagger();
        app.UseSwaggerUI(ui => ui.DocumentTitle = "NerService API");
        return app;
    }
}

/// <summary>Request and success-response examples of an endpoint, shown in the OpenAPI document.</summary>
/// <summary>An endpoint's examples; <paramref name="Problems"/> (by status) replace the generic problem examples where the endpoint's own say more.</summary>
internal sealed record EndpointExamples(object? Request, object? Response, IReadOnlyDictionary<string, ProblemDetails>? Problems = null);

internal static class EndpointExamplesExtensions
{
    public static RouteHandlerBuilder WithExamples(this RouteHandlerBuilder builder, object? request, object? response,
        IReadOnlyDictionary<string, ProblemDetails>? problems = null) =>
        builder.WithMetadata(new EndpointExamples(request, response, problems));
}

/// <summary>
/// Puts each endpoint's examples into its operation, gives every error response a problem details example,
/// and marks the operations that need an API key.
/// </summary>
internal sealed class ExamplesOperationFilter : IOperationFilter
{
    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
        var examples = metadata.OfType<EndpointExamples>().FirstOrDefault();

        if (examples?.Request is { } request && operation.RequestBody?.Content is { } requestContent)
        {
            foreach (var media in requestContent.Values.OfType<OpenApiMediaType>())
                media.Example = ToJson(request);
        }

        if (operation.Responses is null)
            return;
        foreach (var (status, response) in operation.Responses)
        {
            if (response.Content is null)
                continue;
            var example = status == "200" ? examples?.Response
                : examples?.Problems?.GetValueOrDefault(status) ?? ProblemExample(status);
            if (example is null)
                continue;
            foreach (var media in response.Content.Values.OfType<OpenApiMediaType>())
                media.Example = ToJson(example);
        }

        if (operation.Responses.ContainsKey("401"))
        {
            operation.Security ??= [];
            operation.Security.Add(new OpenApiSecurityRequirement
            {
                [new OpenApiSecuritySchemeReference("ApiKey", context.Document)] = [],
            });
        }
    }

    private static System.Text.Json.Nodes.JsonNode? ToJson(object value) =>
        JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions.Web);

    private static object? ProblemExample(string status) => status switch
    {
        "400" => new HttpValidationProblemDetails(new Dictionary<string, string[]> { ["text"] = ["The field 'text' must be a string."] })
        {
            Type = "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            Title = "The request body is not valid.",
            Status = 400,
            Detail = "The field 'text' must be a string.",
        },
        "401" => Problem(401, "https://tools.ietf.org/html/rfc9110#section-15.5.2", "Missing or unknown API key.", "Send a valid key in the X-Api-Key header."),
        "403" => Problem(403, "https://tools.ietf.org/html/rfc9110#section-15.5.4", "The API key's role does not allow this.", "This key has the role tagger; GET /documents needs reviewer."),
        "413" => Problem(413, "https://tools.ietf.org/html/rfc9110#section-15.5.14", "Text too long.", "The text has 120000 characters; at most 100000 are accepted."),
        "415" => Problem(415, "https://tools.ietf.org/html/rfc9110#section-15.5.16", "Unsupported content type.", "Send the body as JSON with 'Content-Type: application/json'."),
        "429" => Problem(429, "https://tools.ietf.org/html/rfc6585#section-4", "Too many requests.", "This client has used its requests for the current window; retry after the time in the Retry-After header."),
        "503" => Problem(503, "https://tools.ietf.org/html/rfc9110#section-15.6.4", "The service is busy.", "Too many texts are waiting for the model; retry after the time in the Retry-After header."),
        "500" => Problem(500, "https://tools.ietf.org/html/rfc9110#section-15.6.1", "An unexpected error occurred.", "The error was logged; quote the trace id when reporting it."),
        _ => null,
    };

    private static ProblemDetails Problem(int status, string type, string title, string detail) =>
        new() { Status = status, Type = type, Title = title, Detail = detail };
}
