using Microsoft.Extensions.Options;
using NerService.Api.Monitoring;
using NerService.Api.Options;
using NerService.Api.Tagging;

namespace NerService.Api.Hosting;

internal static class StartupFailures
{
    /// <summary>
    /// Runs the application; a bad setting or an unloadable model ends it with exit code 1 and a message saying
    /// what to fix, rather than an unhandled-exception dump.
    /// </summary>
    public static int RunOrExplainStartupFailure(this WebApplication app)
    {
        try
        {
            // The host validates options only after it has built its hosted services, and those build the database
            // connection from its options: validating first reports every bad setting, together, by name.
            app.Services.GetService<IStartupValidator>()?.Validate();
            app.Run();
            return 0;
        }
        catch (OptionsValidationException invalid)
        {
            return ExplainInvalidConfiguration([invalid]);
        }
        // Several option sections failing at once (the model's and the database's) arrive together.
        catch (AggregateException several) when (several.InnerExceptions.All(e => e is OptionsValidationException))
        {
            return ExplainInvalidConfiguration(several.InnerExceptions.Cast<OptionsValidationException>());
        }
        catch (ModelLoadException notLoaded)
        {
            Console.Error.WriteLine($"NerService cannot start: {notLoaded.Message}");
            return 1;
        }
        catch (MetricsListenerException notListening)
        {
            Console.Error.WriteLine($"NerService cannot start: {notListening.Message}");
            return 1;
        }
    }

    private static int ExplainInvalidConfiguration(IEnumerable<OptionsValidationException> invalid)
    {
        Console.Error.WriteLine("NerService cannot start: invalid configuration.");
        foreach (var failure in invalid.SelectMany(e => e.Failures))
            Console.Error.WriteLine($"  - {failure}");
        return 1;
    }
}
