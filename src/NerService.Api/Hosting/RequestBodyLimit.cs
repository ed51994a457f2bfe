using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using NerService.Api.Options;

namespace NerService.Api.Hosting;

internal static class RequestBodyLimit
{
    /// <summary>
    /// Each request's body limit from <see cref="RequestLimits.MaxRequestBodyBytes"/> (the gateway's, by default)
    /// instead of Kestrel's 30 MB: a replica reached directly, past the gateway, reads no larger body than the gateway
    /// would. Set per request, before anything reads the body, because Kestrel's own options are read while the
    /// application is built, before the settings are validated and a bad one can be reported by name.
    /// </summary>
    public static WebApplication UseRequestBodyLimit(this WebApplication app)
    {
        var limit = app.Services.GetRequiredService<IOptions<NerOptions>>();
        app.Use((http, next) =>
        {
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } body)
                body.MaxRequestBodySize = limit.Value.Limits.MaxRequestBodyBytes;
            return next(http);
        });
        return app;
    }
}
