using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc;

namespace NerService.Api.Errors;

/// <summary>Every error leaves the service as an RFC 7807 problem details body, and none carries a stack trace.</summary>
internal static class ProblemHandling
{
    /// <summary>The status nginx made conventional for "the client went away"; never seen by the client.</summary>
    public const int ClientClosedRequest = 499;

    public static IServiceCollection AddApiProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails();
        // After the default writer, which declines clients whose Accept header leaves out JSON (text/html, say):
        // they get problem details anyway, rather than a bare status or a plain-text line.
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonFallbackWriter>();
        services.AddExceptionHandler<ApiExceptionHandler>();
        // Minimal APIs only throw binding failures (which carry the offending JSON path) when asked to;
        // by default outside Development they answer a bare 400 that names nothing.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        return services;
    }

    public static WebApplication UseApiProblemDetails(this WebApplication app)
    {
        app.UseExceptionHandler();
        // 404, 405 and the like come from routing with an empty body; give them problem details too.
        app.UseStatusCodePages();
        return app;
    }

    /// <summary>Sets <c>Retry-After</c> (whole seconds, at least 1) on the response.</summary>
    public static void SetRetryAfter(HttpContext http, TimeSpan after) =>
        http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Writes <c>application/problem+json</c> whatever the request accepts: an error body is always problem details.</summary>
internal sealed class ProblemJsonFallbackWriter : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        problem.Title ??= Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, problem.GetType(), options: null, contentType: "application/problem+json", http.RequestAborted));
    }
}

/// <summary>
/// Turns exceptions into problem details. Request-binding failures become 400/413/415 naming the field;
/// anything unexpected becomes a bare 500 (logged here, never described to the client).
/// </summary>
internal sealed class ApiExceptionHandler(IProblemDetailsService problemDetails, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && http.RequestAborted.IsCancellationRequested)
        {
            // Nobody is listening any more; the work was dropped via RequestAborted.
            http.Response.StatusCode = ProblemHandling.ClientClosedRequest;
            return true;
        }

        ProblemDetails problem = exception switch
        {
            BadHttpRequestException bad => DescribeBadRequest(http, bad),
            _ => new ProblemDetails
            {
                Status = StatusCodes.Status500InternalServerError,
                Title = "An unexpected error occurred.",
                Detail = "The error was logged; quote the trace id when reporting it.",
            },
        };
        if (problem.Status == StatusCodes.Status500InternalServerError)
            logger.LogError(exception, "Unhandled exception for {Method} {Path}", http.Request.Method, http.Request.Path);

        http.Response.StatusCode = problem.Status!.Value;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = http, ProblemDetails = problem });
    }

    private static ProblemDetails DescribeBadRequest(HttpContext http, BadHttpRequestException bad)
    {
        if (FindJsonException(bad) is { } json)
        {
            var field = FieldName(json.Path);
            var message = DescribeJsonError(json, field);
            return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request body is not valid.",
                Detail = message,
            };
        }

        return bad.StatusCode switch
        {
            StatusCodes.Status415UnsupportedMediaType => new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = "Unsupported content type.",
                Detail = "Send the body as JSON with 'Content-Type: application/json'.",
            },
            StatusCodes.Status413PayloadTooLarge => new ProblemDetails
            {
                Status = bad.StatusCode,
                Title = "Request body too large.",
                Detail = bad.Message,
            },
            StatusCodes.Status400BadRequest when IsMissingBody(http, bad) => new HttpValidationProblemDetails(
                    new Dictionary<string, string[]> { ["body"] = ["A JSON body is required."] })
            {
                Status = bad.StatusCode,
                Title = "The request body is missing.",
                Detail = "A JSON body is required.",
            },
            // Kestrel's and routing's messages describe the request, not our code, so they are safe to pass on.
            _ => new ProblemDetails { Status = bad.StatusCode, Title = "Bad request.", Detail = bad.Message },
        };
    }

    /// <summary>
    /// Whether a 400 from binding means the JSON body is absent: the request carries none, or an endpoint that
    /// declares a JSON body (<see cref="IAcceptsMetadata"/>) failed binding with no JSON error inside, which is how
    /// the framework reports a body of <c>null</c>. Decided from the request and the endpoint's metadata, not from
    /// the exception's wording, which a framework upgrade may change. Endpoints with a JSON body bind nothing else
    /// that can fail to parse (their other parameters are services and string headers).
    /// </summary>
    internal static bool IsMissingBody(HttpContext http, BadHttpRequestException bad)
    {
        if (bad.StatusCode != StatusCodes.Status400BadRequest || FindJsonException(bad) is not null)
            return false;
        // The exception handler clears the request's endpoint; the feature keeps the one that threw.
        var endpoint = http.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? http.GetEndpoint();
        var declaresJsonBody = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>() is { } accepts
            && accepts.ContentTypes.Any(type => type.Contains("json", StringComparison.OrdinalIgnoreCase));
        if (!declaresJsonBody)
            return false;
        var bodyAbsent = http.Request.ContentLength == 0 || http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == false;
        return bodyAbsent || bad.InnerException is null;
    }

    private static JsonException? FindJsonException(Exception exception)
    {
        for (var current = exception.InnerException; current is not null; current = current.InnerException)
        {
            if (current is JsonException json)
                return json;
        }
        return null;
    }

    /// <summary>"$.documents[1].text" becomes "documents[1].text"; the root becomes "body".</summary>
    internal static string FieldName(string? jsonPath)
    {
        if (string.IsNullOrEmpty(jsonPath) || jsonPath == "$")
            return "body";
        return jsonPath.StartsWith("$.", StringComparison.Ordinal) ? jsonPath[2..] : jsonPath.TrimStart('$');
    }

    private static string DescribeJsonError(JsonException json, string field)
    {
        const string conversionPrefix = "The JSON value could not be converted to ";
        if (json.Message.StartsWith(conversionPrefix, StringComparison.Ordinal))
        {
            var type = json.Message[conversionPrefix.Length..].Split(". Path:", 2)[0];
            return field == "body"
                ? "The body must be a JSON object."
                : $"The field '{field}' must be {DescribeType(type)}.";
        }
        var where = json.LineNumber is { } line ? $" (line {line + 1}, byte {json.BytePositionInLine + 1})" : "";
        return $"The body is not valid JSON near '{field}'{where}.";
    }

    private static string DescribeType(string clrType) => clrType switch
    {
        "System.String" => "a string",
        "System.Boolean" or "System.Nullable`1[System.Boolean]" => "true or false",
        _ when clrType.Contains("List", StringComparison.Ordinal) || clrType.EndsWith("[]", StringComparison.Ordinal) => "an array",
        _ => "an object",
    };
}

/// <summary>Problem responses the endpoints share.</summary>
internal static class Problems
{
    public static ValidationProblem InvalidField(string field, string message) =>
        TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { [field] = [message] },
            detail: message,
            title: "The request body is not valid.");

    public static ValidationProblem InvalidHeader(string header, string message) =>
        TypedResults.ValidationProblem(
            new Dictionary<string, string[]> { [header] = [message] },
            detail: message,
            title: "A request header is not valid.");

    public static ProblemHttpResult TextTooLong(int length, int limit) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Text too long.",
        detail: $"The text has {length} characters; at most {limit} are accepted.");

    public static ProblemHttpResult QueueFull(HttpContext http) => ServiceUnavailable(http, TimeSpan.FromSeconds(1),
        "The service is busy.", "Too many texts are waiting for the model; retry after the time in the Retry-After header.");

    public static ProblemHttpResult ShuttingDown(HttpContext http) => ServiceUnavailable(http, TimeSpan.FromSeconds(5),
        "The service is shutting down.", "Retry against another instance, or after the service has restarted.");

    /// <summary>Every 503 of the service: <c>Retry-After</c> on the response and problem details.</summary>
    public static ProblemHttpResult ServiceUnavailable(HttpContext http, TimeSpan retryAfter, string title, string detail)
    {
        ProblemHandling.SetRetryAfter(http, retryAfter);
        return TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: title, detail: detail);
    }
}
