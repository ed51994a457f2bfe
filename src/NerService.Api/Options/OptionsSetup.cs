using Microsoft.Extensions.Options;

namespace NerService.Api.Options;

internal static class OptionsSetup
{
    public static IServiceCollection AddNerOptions(this IServiceCollection services)
    {
        services.AddOptions<NerOptions>()
            .BindConfiguration(NerOptions.SectionName)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<NerOptions>, NerOptionsValidator>();
        return services;
    }
}
