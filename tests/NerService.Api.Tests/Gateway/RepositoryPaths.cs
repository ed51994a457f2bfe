using System.Reflection;

namespace NerService.Api.Tests.Gateway;

/// <summary>Where the repository and the built API are, for tests that run them as separate processes.</summary>
internal static class RepositoryPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>
    /// The API to run: its own build output (set at build time), or a published folder named by
    /// NERSERVICE_API_DIRECTORY (e.g. what the Dockerfile's publish step produces).
    /// </summary>
    public static string ApiDirectory
    {
        get
        {
            var directory = Environment.GetEnvironmentVariable("NERSERVICE_API_DIRECTORY") is { Length: > 0 } published
                ? published
                : typeof(RepositoryPaths).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                    .Single(attribute => attribute.Key == "NerServiceApiDirectory").Value!;
            if (!File.Exists(Path.Combine(directory, "NerService.Api.dll")))
                throw new InvalidOperationException($"The built API is not in '{directory}': build the solution (dotnet build) before running these tests.");
            return directory;
        }
    }

    public static string InRepository(string relativePath) => Path.Combine(Root, relativePath);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "NerService.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException($"No NerService.sln above '{AppContext.BaseDirectory}'.");
    }
}
