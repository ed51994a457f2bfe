using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using NerService.Api.Errors;
using NerService.Api.Options;

namespace NerService.Api.Security;

/// <summary>Optional API keys: when <see cref="NerOptions.ApiKeys"/> lists any, the endpoints marked with them need one in <c>X-Api-Key</c>.</summary>
internal static class ApiKeys
{
    public const string HeaderName = "X-Api-Key";

    public static TBuilder RequireApiKey<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var keys = http.RequestServices.GetRequiredService<IOptions<NerOptions>>().Value.ApiKeys;
            if (keys.Count == 0 || IsKnown(keys, http.Request.Headers[HeaderName].ToString()))
                return await next(context);
            http.Response.Headers.WWWAuthenticate = $"ApiKey header=\"{HeaderName}\"";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Missing or unknown API key.",
                detail: $"Send a valid key in the {HeaderName} header.");
        });
        return builder.ProducesProblem(StatusCodes.Status401Unauthorized);
    }

    /// <summary>Compares in constant time so that response timing does not reveal how much of a key matched.</summary>
    public static bool IsKnown(IReadOnlyList<string> keys, string candidate)
    {
        if (candidate.Length == 0)
            return false;
        var candidateBytes = Encoding.UTF8.GetBytes(candidate);
        var known = false;
        foreach (var key in keys)
            known |= CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(key), candidateBytes);
        return known;
    }
}
