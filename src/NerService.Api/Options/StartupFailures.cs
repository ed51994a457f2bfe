using Microsoft.Extensions.Options;
using NerService.Api.Tagging;

namespace NerService.Api.Options;

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
            app.Run();
            return 0;
        }
        catch (OptionsValidationException invalid)
        {
            Console.Error.WriteLine("NerService cannot start: invalid configuration.");
            foreach (var failure in invalid.Failures)
                Console.Error.WriteLine($"  - {failure}");
            return 1;
        }
        catch (ModelLoadException notLoaded)
        {
            Console.Error.WriteLine($"NerService cannot start: {notLoaded.Message}");
            return 1;
        }
    }
}
