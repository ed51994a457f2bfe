using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace NerService.Api.Tests.Gateway;

/// <summary>What can be checked of the container files without a Docker engine.</summary>
public sealed partial class DeploymentFilesTests
{
    [Fact]
    public void TheComposeFileIsValidYamlNamingTheServices()
    {
        var compose = LoadYaml("docker-compose.yml");

        var services = (YamlMappingNode)compose.Children[new YamlScalarNode("services")];
        var names = services.Children.Keys.Cast<YamlScalarNode>().Select(key => key.Value).ToList();
        Assert.Equal(["postgres", "migrate", "api", "gateway"], names);

        var api = (YamlMappingNode)services.Children[new YamlScalarNode("api")];
        var deploy = (YamlMappingNode)api.Children[new YamlScalarNode("deploy")];
        Assert.Equal("2", ((YamlScalarNode)deploy.Children[new YamlScalarNode("replicas")]).Value);

        // Only the gateway is reachable from outside.
        var published = services.Children.Where(service => ((YamlMappingNode)service.Value).Children.ContainsKey(new YamlScalarNode("ports")))
            .Select(service => ((YamlScalarNode)service.Key).Value);
        Assert.Equal(["gateway"], published);

        // Every file the gateway mounts from the repository exists.
        var gateway = (YamlMappingNode)services.Children[new YamlScalarNode("gateway")];
        foreach (var volume in ((YamlSequenceNode)gateway.Children[new YamlScalarNode("volumes")]).Children.Cast<YamlScalarNode>())
        {
            var source = volume.Value!.Split(':')[0];
            Assert.True(File.Exists(RepositoryPaths.InRepository(source)), $"docker-compose.yml mounts {source}, which is not in the repository.");
        }
    }

    [Fact]
    public void TheEnvFileIsIgnoredAndItsExampleCommitted()
    {
        Assert.True(File.Exists(RepositoryPaths.InRepository("deploy/.env.example")));
        var ignored = File.ReadAllLines(RepositoryPaths.InRepository(".gitignore"));
        Assert.Contains("deploy/.env", ignored);
    }

    [Theory]
    [InlineData("deploy/docker/Dockerfile")]
    [InlineData("deploy/docker/Dockerfile.cuda")]
    public void EveryPathTheDockerfileCopiesExists(string dockerfile)
    {
        var text = File.ReadAllText(RepositoryPaths.InRepository(dockerfile)).Replace("\\\n", " ");
        var sources = CopyInstruction().Matches(text)
            .SelectMany(copy => copy.Groups["paths"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            .ToList();

        Assert.Contains("models/ner-default.bundle", sources);
        var missing = sources.Where(source => !File.Exists(RepositoryPaths.InRepository(source)) && !Directory.Exists(RepositoryPaths.InRepository(source))).ToList();
        Assert.True(missing.Count == 0,
            $"{dockerfile} copies paths that are not in the repository: {string.Join(", ", missing)}." +
            (missing.Contains("models/ner-default.bundle") ? " The default model is made by the training command (see the README)." : ""));
    }

    [Fact]
    public void TheApisDefaultBodyLimitIsTheGatewaysAndTheIngresss()
    {
        var gateway = ClientMaxBodySize().Match(File.ReadAllText(RepositoryPaths.InRepository("deploy/nginx/nginx.conf")));
        var ingress = IngressBodySize().Match(File.ReadAllText(RepositoryPaths.InRepository("deploy/k8s/40-ingress.yaml")));
        Assert.True(gateway.Success && ingress.Success, "client_max_body_size and proxy-body-size should be set in megabytes.");

        var api = new NerService.Api.Options.NerOptions().Limits.MaxRequestBodyBytes;
        Assert.Equal(long.Parse(gateway.Groups["megabytes"].Value, System.Globalization.CultureInfo.InvariantCulture) * 1024 * 1024, api);
        Assert.Equal(gateway.Groups["megabytes"].Value, ingress.Groups["megabytes"].Value);
    }

    [Fact]
    public void KubernetesScrapesMetricsOnAPortThatNeitherTheServiceNorTheIngressExposes()
    {
        static string WithoutComments(string path) =>
            string.Join('\n', File.ReadAllLines(RepositoryPaths.InRepository(path)).Where(line => !line.TrimStart().StartsWith('#')));
        var deployment = WithoutComments("deploy/k8s/30-deployment.yaml");
        var service = WithoutComments("deploy/k8s/31-service.yaml");
        var ingress = WithoutComments("deploy/k8s/40-ingress.yaml");
        var metricsPort = new NerService.Api.Options.NerOptions().Metrics.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Contains($"prometheus.io/port: \"{metricsPort}\"", deployment);
        Assert.Matches($@"- name: metrics\s+containerPort: {metricsPort}", deployment);
        Assert.DoesNotContain("metrics", service);
        Assert.DoesNotContain(metricsPort, service);
        // The ingress routes to the Service's http port only.
        Assert.Matches(@"port:\s+name: http", ingress);
        Assert.DoesNotContain(metricsPort, ingress);
    }

    [Fact]
    public void TheKubernetesManifestsAreValidYaml()
    {
        var kinds = Directory.GetFiles(RepositoryPaths.InRepository("deploy/k8s"), "*.yaml")
            .SelectMany(file =>
            {
                var stream = new YamlStream();
                using var reader = new StreamReader(file);
                stream.Load(reader);
                return stream.Documents.Select(document => ((YamlScalarNode)((YamlMappingNode)document.RootNode).Children[new YamlScalarNode("kind")]).Value);
            })
            .ToHashSet();

        Assert.Superset(new HashSet<string?> { "Deployment", "Service", "HorizontalPodAutoscaler", "Ingress", "ConfigMap", "Secret", "Job" }, kinds);
    }

    private static YamlMappingNode LoadYaml(string relativePath)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(RepositoryPaths.InRepository(relativePath));
        stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    /// <summary>COPY lines taking files from the build context (not <c>--from</c> another stage or image); flags such as <c>--chown</c> dropped.</summary>
    [GeneratedRegex(@"^COPY\s+(?!.*--from)(?:--\S+\s+)*(?<paths>.+)$", RegexOptions.Multiline)]
    private static partial Regex CopyInstruction();

    [GeneratedRegex(@"^\s*client_max_body_size (?<megabytes>\d+)m;", RegexOptions.Multiline)]
    private static partial Regex ClientMaxBodySize();

    [GeneratedRegex(@"proxy-body-size: ""(?<megabytes>\d+)m""")]
    private static partial Regex IngressBodySize();
}
