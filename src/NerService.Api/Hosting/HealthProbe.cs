namespace NerService.Api.Hosting;

/// <summary>
/// The <c>healthcheck</c> command for container health checks: the ASP.NET Core runtime image has no curl or
/// wget, and adding one (plus its libraries) for a single GET is more image than this. Exit code 0 when
/// <c>/health/live</c> answers 200 within 5 seconds, else 1.
/// </summary>
internal static class HealthProbe
{
    public static async Task<int> RunAsync(string[] args)
    {
        // The port Kestrel listens on in the .NET container images (ASPNETCORE_HTTP_PORTS, 8080 by default).
        var port = Environment.GetEnvironmentVariable("ASPNETCORE_HTTP_PORTS")?.Split(';', ',')[0] is { Length: > 0 } first ? first : "8080";
        var url = args.Length > 1 ? args[1] : $"http://127.0.0.1:{port}/health/live";
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await client.GetAsync(url);
            Console.WriteLine($"{url}: {(int)response.StatusCode}");
            return response.IsSuccessStatusCode ? 0 : 1;
        }
        catch (Exception failure) when (failure is HttpRequestException or TaskCanceledException)
        {
            Console.Error.WriteLine($"{url}: {failure.Message}");
            return 1;
        }
    }
}
