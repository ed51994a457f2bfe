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

        // Every file the gateway mounts from the repository exists, with the variables at their defaults.
        var gateway = (YamlMappingNode)services.Children[new YamlScalarNode("gateway")];
        foreach (var volume in ((YamlSequenceNode)gateway.Children[new YamlScalarNode("volumes")]).Children.Cast<YamlScalarNode>())
        {
            var source = WithDefaults(volume.Value!).Split(':')[0];
            Assert.True(File.Exists(RepositoryPaths.InRepository(source)), $"docker-compose.yml mounts {source}, which is not in the repository.");
        }
        // ...and the file the stand-in gateway uses instead (GATEWAY_UPSTREAM, scripts/container-base-images.sh --env).
        Assert.True(File.Exists(RepositoryPaths.InRepository("deploy/nginx/upstream.static.conf")));
    }

    /// <summary>Compose's <c>${NAME:-default}</c> replaced by its default, as when the variable is not set.</summary>
    internal static string WithDefaults(string value) => ComposeVariable().Replace(value, match => match.Groups["default"].Value);

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

    [Theory]
    [InlineData("deploy/docker/Dockerfile")]
    [InlineData("deploy/docker/Dockerfile.cuda")]
    public void TheDockerfileNeedsNoRegistryForItsSyntaxPinsItsBaseImagesAndRunsAsANonRootUser(string dockerfile)
    {
        var lines = File.ReadAllLines(RepositoryPaths.InRepository(dockerfile));

        // BuildKit pulls the frontend image a `# syntax=` line names: no build without a registry.
        Assert.DoesNotContain(lines, line => SyntaxDirective().IsMatch(line));

        // Build arguments declared before the first FROM are what FROM lines may use; their defaults are the images.
        var arguments = lines.TakeWhile(line => !line.StartsWith("FROM ", StringComparison.Ordinal))
            .Select(line => BuildArgument().Match(line)).Where(match => match.Success)
            .ToDictionary(match => match.Groups["name"].Value, match => match.Groups["default"].Value);
        var stages = new List<string>();
        foreach (var from in lines.Select(line => FromInstruction().Match(line)).Where(match => match.Success))
        {
            var image = DockerfileVariable().Replace(from.Groups["image"].Value, variable => arguments[variable.Groups["name"].Value]);
            if (!stages.Contains(image))
            {
                var lastPart = image.Split('/')[^1];
                var tag = lastPart.Contains('@', StringComparison.Ordinal) ? "digest" : lastPart.Split(':') is [_, var value] ? value : null;
                Assert.True(tag is not null && tag != "latest", $"{dockerfile}: FROM {image} needs a fixed tag (not latest) or digest.");
            }
            stages.Add(from.Groups["stage"].Value);
        }
        Assert.True(stages.Count >= 2, $"{dockerfile}: a build stage and a runtime stage.");

        // The runtime stage (the last) ends as an unprivileged user: numeric (Kubernetes' runAsNonRoot can only check
        // a number) or APP_UID, which the aspnet images set to 1654 (scripts/test-containers.sh checks the built image).
        var runtime = lines.Reverse().TakeWhile(line => !line.StartsWith("FROM ", StringComparison.Ordinal)).Reverse().ToList();
        var user = runtime.LastOrDefault(line => line.StartsWith("USER ", StringComparison.Ordinal))?["USER ".Length..].Trim();
        Assert.True(user is "$APP_UID" || (int.TryParse(user, out var uid) && uid > 0), $"{dockerfile}: the runtime stage's USER is '{user}'.");
        Assert.Contains(runtime, line => line.StartsWith("HEALTHCHECK ", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryComposeServiceHasAReadOnlyRootAndATmpfsItsUserCanWrite()
    {
        var services = (YamlMappingNode)LoadYaml("docker-compose.yml").Children[new YamlScalarNode("services")];
        foreach (var (key, node) in services.Children)
        {
            var name = ((YamlScalarNode)key).Value;
            var service = WithMergedKeys((YamlMappingNode)node);
            Assert.True(Scalar(service, "read_only") == "true", $"{name}: read_only: true");

            // Docker mounts a tmpfs owned by root (with the mode of the image's folder), whatever owns that folder: a
            // service that does not start as root, and so cannot chown it, needs uid and gid on the entry. The
            // gateway's /var/cache/nginx (755) without them made nginx restart forever.
            var user = Scalar(service, "user")?.Split(':') switch
            {
                [var userId, var groupId] => (userId, groupId),
                null when service.Children.ContainsKey(new YamlScalarNode("build")) => ("1654", "1654"), // the API image's APP_UID
                _ => default((string Uid, string Gid)?),
            };
            if (user is not var (uid, gid))
                continue;
            foreach (var tmpfs in service.Children.TryGetValue(new YamlScalarNode("tmpfs"), out var entries) ? ((YamlSequenceNode)entries).Children.Cast<YamlScalarNode>() : [])
            {
                var options = tmpfs.Value!.Split(':', 2) is [_, var list] ? list.Split(',') : [];
                Assert.True(options.Contains($"uid={uid}") && options.Contains($"gid={gid}"),
                    $"{name} runs as {uid}:{gid}; its tmpfs '{tmpfs.Value}' must say uid={uid},gid={gid}, or Docker mounts it owned by root.");
            }
        }
    }

    private static string? Scalar(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? ((YamlScalarNode)value).Value : null;

    /// <summary>A mapping with its <c>&lt;&lt;: *anchor</c> entries resolved (the representation model keeps them as keys).</summary>
    private static YamlMappingNode WithMergedKeys(YamlMappingNode mapping)
    {
        var merged = new YamlMappingNode();
        if (mapping.Children.TryGetValue(new YamlScalarNode("<<"), out var baseNode))
        {
            foreach (var entry in ((YamlMappingNode)baseNode).Children)
                merged.Children[entry.Key] = entry.Value;
        }
        foreach (var entry in mapping.Children.Where(entry => ((YamlScalarNode)entry.Key).Value != "<<"))
            merged.Children[entry.Key] = entry.Value;
        return merged;
    }

    private static YamlMappingNode LoadYaml(string relativePath)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(RepositoryPaths.InRepository(relativePath));
        stream.Load(reader);
        return (YamlMappingNode)Assert.Single(stream.Documents).RootNode;
    }

    [GeneratedRegex(@"^#\s*syntax\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex SyntaxDirective();

    [GeneratedRegex(@"^ARG\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)=(?<default>\S+)\s*$")]
    private static partial Regex BuildArgument();

    [GeneratedRegex(@"^FROM\s+(?<image>\S+)(?:\s+AS\s+(?<stage>\S+))?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex FromInstruction();

    [GeneratedRegex(@"\$\{?(?<name>[A-Za-z_][A-Za-z0-9_]*)\}?")]
    private static partial Regex DockerfileVariable();

    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*):-(?<default>[^}]*)\}")]
    private static partial Regex ComposeVariable();

    /// <summary>COPY lines taking files from the build context (not <c>--from</c> another stage or image); flags such as <c>--chown</c> dropped.</summary>
    [GeneratedRegex(@"^COPY\s+(?!.*--from)(?:--\S+\s+)*(?<paths>.+)$", RegexOptions.Multiline)]
    private static partial Regex CopyInstruction();

    [GeneratedRegex(@"^\s*client_max_body_size (?<megabytes>\d+)m;", RegexOptions.Multiline)]
    private static partial Regex ClientMaxBodySize();

    [GeneratedRegex(@"proxy-body-size: ""(?<megabytes>\d+)m""")]
    private static partial Regex IngressBodySize();
}
