using System.Net.Http.Json;
using Microsoft.Playwright;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>
/// Drives the page in Debian's Chromium (Playwright's own browser download is not used).
/// Set CHROMIUM_PATH to use another Chromium build.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class PageTests(ServiceFixture fixture)
{
    private static readonly string ChromiumPath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";

    [Fact]
    public async Task ThePageHighlightsTheEntitiesWithTheirLabels()
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium is needed at {ChromiumPath}: apt-get install chromium (scripts/prerequisites.sh), or set CHROMIUM_PATH.");
        const string text = "John Smith said in London that Reuters and the EU would meet in Paris. Germany agreed.";
        await using var factory = new NerServiceFactory(fixture);
        var address = factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        var expected = (await AssertOkJsonAsync(await client.PostAsJsonAsync("ner", new { text }))).GetProperty("entities")
            .EnumerateArray()
            .Select(e => (Text: e.GetProperty("text").GetString(), Label: e.GetProperty("label").GetString()))
            .ToList();
        Assert.NotEmpty(expected);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync(address.ToString());
        await Assertions.Expect(page.Locator("#legend li[data-label=PER]")).ToBeVisibleAsync();

        await page.FillAsync("#text", text);
        await page.ClickAsync("#submit");
        await Assertions.Expect(page.Locator("#summary")).ToContainTextAsync("found");

        var marks = page.Locator("#result mark.entity");
        var shown = new List<(string? Text, string? Label)>();
        for (var i = 0; i < await marks.CountAsync(); i++)
            shown.Add((await marks.Nth(i).TextContentAsync(), await marks.Nth(i).GetAttributeAsync("data-label")));
        Assert.Equal(expected, shown);
        Assert.Equal(text, await page.Locator("#result").TextContentAsync());
        Assert.Contains("score", await marks.First.GetAttributeAsync("title"));
        Assert.True(await page.Locator("#error").IsHiddenAsync());
    }
}
