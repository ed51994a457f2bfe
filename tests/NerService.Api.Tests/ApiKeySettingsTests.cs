using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting.Internal;
using NerService.Api.Options;

namespace NerService.Api.Tests;

/// <summary>Key settings are checked at start, each failure naming the setting to fix.</summary>
public sealed class ApiKeySettingsTests
{
    private static IReadOnlyList<string> Failures(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)).Append(new("Ner:BundlePath", Path.GetTempPath())))
            .Build();
        var options = new NerOptions();
        configuration.GetSection(NerOptions.SectionName).Bind(options);
        var result = new NerOptionsValidator(new HostingEnvironment { ContentRootPath = Path.GetTempPath() }, configuration).Validate(null, options);
        return result.Failures?.ToList() ?? [];
    }

    [Fact]
    public void KeysWithATenantAndARoleAreAccepted()
    {
        Assert.Empty(Failures(
            ("Ner:ApiKeys:0:Key", "a-long-random-key"), ("Ner:ApiKeys:0:Tenant", "acme"), ("Ner:ApiKeys:0:Role", "tagger"),
            ("Ner:ApiKeys:1:KeySha256", new string('a', 64)), ("Ner:ApiKeys:1:Tenant", "ops.team_1"), ("Ner:ApiKeys:1:Role", "Admin")));
    }

    [Fact]
    public void ABareKeyInTheFormatBeforeTenancyIsNamedWithTheNewSettings()
    {
        var failure = Assert.Single(Failures(("Ner:ApiKeys:0", "old-style-key")));

        Assert.Contains("Ner:ApiKeys:0 is a bare key", failure);
        Assert.Contains("Ner:ApiKeys:0:Tenant", failure);
    }

    [Theory]
    [InlineData("Ner:ApiKeys:0:Role", "owner", "Ner:ApiKeys:0:Role must be tagger, reviewer or admin")]
    [InlineData("Ner:ApiKeys:0:Role", "2", "Ner:ApiKeys:0:Role must be tagger, reviewer or admin")]
    [InlineData("Ner:ApiKeys:0:Tenant", "two words", "Ner:ApiKeys:0:Tenant must be 1-64 letters")]
    [InlineData("Ner:ApiKeys:0:KeySha256", "abc", "Ner:ApiKeys:0: set Key or KeySha256, not both")]
    [InlineData("Ner:ApiKeys:0:Key", "", "Ner:ApiKeys:0:Key (or Ner:ApiKeys:0:KeySha256) is empty")]
    [InlineData("Ner:ApiKeys:0:Key", "   ", "Ner:ApiKeys:0:Key is blank")]
    public void ABadKeySettingIsNamed(string setting, string value, string failure)
    {
        var settings = new Dictionary<string, string>
        {
            ["Ner:ApiKeys:0:Key"] = "a-long-random-key",
            ["Ner:ApiKeys:0:Tenant"] = "acme",
            ["Ner:ApiKeys:0:Role"] = "reviewer",
        };
        settings[setting] = value;

        Assert.Contains(Failures(settings.Select(s => (s.Key, s.Value)).ToArray()), f => f.StartsWith(failure, StringComparison.Ordinal));
    }

    [Fact]
    public void AHashThatIsNotSha256HexAndADuplicateKeyAreNamed()
    {
        var failures = Failures(
            ("Ner:ApiKeys:0:KeySha256", new string('x', 64)), ("Ner:ApiKeys:0:Tenant", "a"), ("Ner:ApiKeys:0:Role", "tagger"),
            ("Ner:ApiKeys:1:Key", "same"), ("Ner:ApiKeys:1:Tenant", "b"), ("Ner:ApiKeys:1:Role", "tagger"),
            ("Ner:ApiKeys:2:Key", "same"), ("Ner:ApiKeys:2:Tenant", "c"), ("Ner:ApiKeys:2:Role", "admin"));

        Assert.Contains(failures, f => f.StartsWith("Ner:ApiKeys:0:KeySha256 must be 64 hexadecimal digits", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Ner:ApiKeys:2 is the same key as Ner:ApiKeys:1", StringComparison.Ordinal));
    }
}
