using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using NerService.Api.Errors;

namespace NerService.Api.Database;

/// <summary>
/// The 503 answer when the database is unreachable. An endpoint filter (<see cref="Filter"/>) applies it to
/// whole route groups; POST /ner's storing path can use <see cref="Problem"/> directly.
/// </summary>
public static class DatabaseUnavailable
{
    /// <summary>Sets <c>Retry-After</c> on the response and returns the 503 problem details.</summary>
    public static ProblemHttpResult Problem(HttpContext context,
        string detail = "The document database cannot be reached right now; nothing was changed. Retry later.")
    {
        var options = context.RequestServices.GetRequiredService<IOptions<DatabaseOptions>>().Value;
        return Problems.ServiceUnavailable(context, TimeSpan.FromSeconds(options.RetryAfterSeconds), "Database unavailable", detail);
    }

    /// <summary>Catches <see cref="DatabaseUnavailableException"/> from the endpoints it is added to.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (DatabaseUnavailableException ex)
        {
            context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>()
                .CreateLogger(typeof(DatabaseUnavailable)).LogWarning("{Method} {Path}: {Message}", context.HttpContext.Request.Method, context.HttpContext.Request.Path, ex.Message);
            return Problem(context.HttpContext);
        }
    }
}
