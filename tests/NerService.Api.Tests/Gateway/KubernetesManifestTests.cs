using k8s;
using k8s.Models;
using YamlDotNet.Core;

namespace NerService.Api.Tests.Gateway;

/// <summary>
/// deploy/k8s against the Kubernetes API's own types (KubernetesClient's models, generated from the API's OpenAPI
/// schema: every field must exist there, with the right type), against each other (selectors, ports, names), and
/// against what a security linter (kube-linter, Polaris, kube-score) would demand of the pods. No cluster needed.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly Dictionary<string, Type> Kinds = new()
    {
        ["v1/Namespace"] = typeof(V1Namespace),
        ["v1/ConfigMap"] = typeof(V1ConfigMap),
        ["v1/Secret"] = typeof(V1Secret),
        ["v1/Service"] = typeof(V1Service),
        ["batch/v1/Job"] = typeof(V1Job),
        ["apps/v1/Deployment"] = typeof(V1Deployment),
        ["policy/v1/PodDisruptionBudget"] = typeof(V1PodDisruptionBudget),
        ["autoscaling/v2/HorizontalPodAutoscaler"] = typeof(V2HorizontalPodAutoscaler),
        ["networking.k8s.io/v1/Ingress"] = typeof(V1Ingress),
    };

    [Fact]
    public void EveryManifestLoadsIntoItsKubernetesApiTypeWithNoUnknownField()
    {
        var manifests = LoadManifests();

        Assert.Equal(
            ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Job", "Namespace", "PodDisruptionBudget", "Secret", "Service"],
            manifests.Select(manifest => manifest.Object.Kind).Order(StringComparer.Ordinal));
        foreach (var (file, manifest) in manifests)
        {
            Assert.False(string.IsNullOrEmpty(manifest.Metadata?.Name), $"{file}: {manifest.Kind} has no name");
            Assert.Equal("ner", manifest.Kind == "Namespace" ? manifest.Metadata!.Name : manifest.Metadata!.NamespaceProperty);
        }
    }

    /// <summary>What the API server would refuse, or accept and never act on, that the types alone cannot show.</summary>
    [Fact]
    public void TheManifestsReferToEachOther()
    {
        var manifests = LoadManifests().Select(manifest => manifest.Object).ToList();
        var deployment = Assert.Single(manifests.OfType<V1Deployment>());
        var podLabels = deployment.Spec.Template.Metadata.Labels;
        bool SelectsThePods(IDictionary<string, string> selector) => selector.All(label => podLabels.TryGetValue(label.Key, out var value) && value == label.Value);

        // The API server refuses a Deployment whose selector does not match its own template.
        Assert.True(SelectsThePods(deployment.Spec.Selector.MatchLabels), "the Deployment's selector matches its pods");
        var service = Assert.Single(manifests.OfType<V1Service>());
        Assert.True(SelectsThePods(service.Spec.Selector), "the Service selects the Deployment's pods");
        var containerPorts = deployment.Spec.Template.Spec.Containers.SelectMany(container => container.Ports).Select(port => port.Name).ToList();
        Assert.All(service.Spec.Ports, port => Assert.Contains(port.TargetPort.Value, containerPorts));
        Assert.True(SelectsThePods(Assert.Single(manifests.OfType<V1PodDisruptionBudget>()).Spec.Selector.MatchLabels), "the PodDisruptionBudget selects the pods");
        var autoscaler = Assert.Single(manifests.OfType<V2HorizontalPodAutoscaler>());
        Assert.Equal(("Deployment", deployment.Metadata.Name), (autoscaler.Spec.ScaleTargetRef.Kind, autoscaler.Spec.ScaleTargetRef.Name));
        var backend = Assert.Single(Assert.Single(manifests.OfType<V1Ingress>()).Spec.Rules).Http.Paths.Select(path => path.Backend.Service);
        Assert.All(backend, target => Assert.Equal((service.Metadata.Name, service.Spec.Ports[0].Name), (target.Name, target.Port.Name)));

        // Every pod reads the ConfigMap and Secret these manifests define (the Secret by the example's name).
        var configMap = Assert.Single(manifests.OfType<V1ConfigMap>()).Metadata.Name;
        var secret = Assert.Single(manifests.OfType<V1Secret>()).Metadata.Name;
        foreach (var container in PodTemplates().SelectMany(template => template.Pod.Containers))
        {
            Assert.False(string.IsNullOrEmpty(container.Name) || string.IsNullOrEmpty(container.Image), "a container needs a name and an image");
            Assert.Contains(container.EnvFrom, source => source.SecretRef?.Name == secret);
            Assert.All(container.EnvFrom.Where(source => source.ConfigMapRef is not null), source => Assert.Equal(configMap, source.ConfigMapRef.Name));
        }
    }

    [Fact]
    public void AManifestWithAMisspelledFieldIsRejected()
    {
        const string misspelled = """
            apiVersion: v1
            kind: Service
            metadata:
              name: ner-api
            spec:
              prots:
                - port: 80
            """;

        Assert.ThrowsAny<YamlException>(() => KubernetesYaml.LoadAllFromString(misspelled, Kinds, strict: true));
    }

    [Fact]
    public void EveryPodRunsAsANonRootUserWithAReadOnlyRootNoPrivilegeEscalationAndNoCapabilities()
    {
        foreach (var (name, pod) in PodTemplates())
        {
            Assert.True(pod.SecurityContext?.RunAsNonRoot == true, $"{name}: runAsNonRoot");
            Assert.True(pod.SecurityContext?.RunAsUser is > 0, $"{name}: runAsUser (numeric, not 0)");
            Assert.Equal("RuntimeDefault", pod.SecurityContext?.SeccompProfile?.Type);
            Assert.True(pod.AutomountServiceAccountToken == false, $"{name}: the pod does not talk to the Kubernetes API; no token");
            Assert.True(pod.HostNetwork is null or false && pod.HostPID is null or false && pod.HostIPC is null or false, $"{name}: host namespaces");
            foreach (var container in pod.Containers.Concat(pod.InitContainers ?? []))
            {
                var security = container.SecurityContext;
                Assert.True(security?.ReadOnlyRootFilesystem == true, $"{name}/{container.Name}: readOnlyRootFilesystem");
                Assert.True(security?.AllowPrivilegeEscalation == false, $"{name}/{container.Name}: allowPrivilegeEscalation false");
                Assert.True(security?.Privileged is null or false, $"{name}/{container.Name}: not privileged");
                Assert.Equal(["ALL"], security?.Capabilities?.Drop ?? []);
                Assert.Null(security?.Capabilities?.Add);
                // The one writable folder is an emptyDir with a size limit.
                var tmp = Assert.Single(container.VolumeMounts ?? [], mount => mount.MountPath == "/tmp");
                Assert.NotNull(Assert.Single(pod.Volumes, volume => volume.Name == tmp.Name).EmptyDir?.SizeLimit);
            }
        }
    }

    [Fact]
    public void EveryContainerRequestsAndIsLimitedInCpuAndMemory()
    {
        foreach (var (name, pod) in PodTemplates())
        {
            foreach (var container in pod.Containers)
            {
                foreach (var (kind, quantities) in new[] { ("requests", container.Resources?.Requests), ("limits", container.Resources?.Limits) })
                {
                    Assert.True(quantities?.ContainsKey("cpu") == true, $"{name}/{container.Name}: resources.{kind}.cpu");
                    Assert.True(quantities?.ContainsKey("memory") == true, $"{name}/{container.Name}: resources.{kind}.memory");
                }
                foreach (var resource in new[] { "cpu", "memory" })
                {
                    var request = container.Resources!.Requests[resource].ToDecimal();
                    var limit = container.Resources.Limits[resource].ToDecimal();
                    Assert.True(request <= limit, $"{name}/{container.Name}: {resource} request {request} over its limit {limit}");
                }
            }
        }
    }

    [Fact]
    public void TheServingContainersHaveReadinessLivenessAndStartupProbesOnTheirHealthEndpoints()
    {
        // Only the Deployment serves; the migration Job runs to completion and has nothing to probe.
        var (name, pod) = Assert.Single(PodTemplates(), template => template.Name.StartsWith("Deployment", StringComparison.Ordinal));
        var api = Assert.Single(pod.Containers);

        Assert.Equal("/health/ready", api.ReadinessProbe?.HttpGet?.Path);
        Assert.Equal("/health/live", api.LivenessProbe?.HttpGet?.Path);
        Assert.Equal("/health/live", api.StartupProbe?.HttpGet?.Path);
        Assert.True(api.Ports.Any(port => port.ContainerPort == 8080), $"{name}: port 8080");
    }

    [Fact]
    public void EveryImageHasAPinnedTagThatIsNotLatest()
    {
        foreach (var (name, pod) in PodTemplates())
        {
            foreach (var container in pod.Containers)
            {
                var lastPart = container.Image.Split('/')[^1];
                var tag = lastPart.Contains('@', StringComparison.Ordinal) ? "digest" : lastPart.Split(':') is [_, var value] ? value : null;
                Assert.True(tag is not null && tag != "latest", $"{name}/{container.Name}: image {container.Image} needs a fixed tag (not latest) or digest");
            }
        }
    }

    private static List<(string File, IKubernetesObject<V1ObjectMeta> Object)> LoadManifests() =>
        Directory.GetFiles(RepositoryPaths.InRepository("deploy/k8s"), "*.yaml")
            .Order(StringComparer.Ordinal)
            .SelectMany(file => KubernetesYaml.LoadAllFromString(File.ReadAllText(file), Kinds, strict: true)
                .Select(manifest => (Path.GetFileName(file), (IKubernetesObject<V1ObjectMeta>)manifest)))
            .ToList();

    private static List<(string Name, V1PodSpec Pod)> PodTemplates()
    {
        var templates = LoadManifests()
            .Select(manifest => manifest.Object switch
            {
                V1Deployment deployment => ($"Deployment {deployment.Metadata.Name}", deployment.Spec.Template.Spec),
                V1Job job => ($"Job {job.Metadata.Name}", job.Spec.Template.Spec),
                _ => default((string, V1PodSpec)?),
            })
            .OfType<(string, V1PodSpec)>()
            .ToList();
        Assert.Equal(2, templates.Count);
        return templates;
    }
}
