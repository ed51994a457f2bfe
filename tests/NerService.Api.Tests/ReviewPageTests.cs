using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using NerService.Api.Documents;
using NerService.Api.Tests.Documents;
using NerService.Model.Inference;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>
/// Drives the review page at /review in Debian's Chromium (as <see cref="PageTests"/>): real selections, key presses
/// and clicks against the service on a loopback socket, then the stored result read back through the API. Each
/// test has a database of its own, so lists and counts hold only its documents.
/// </summary>
[Collection(ServiceCollection.Name)]
public sealed class ReviewPageTests(ServiceFixture fixture) : IAsyncLifetime
{
    private static readonly string ChromiumPath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium";
    private TestDatabase database = null!;

    public async Task InitializeAsync() => database = await TestDatabase.CreateAsync();

    public async Task DisposeAsync() => await database.DisposeAsync();

    private async Task<long> Store(string text, params (string Label, string Text, float Score)[] entities) =>
        (await database.Store.InsertAsync([Document(text, entities)]))[0];

    private static NewDocument Document(string text, params (string Label, string Text, float Score)[] entities) =>
        new(text, entities.Select(e =>
        {
            var start = text.IndexOf(e.Text, StringComparison.Ordinal);
            Assert.True(start >= 0, $"'{e.Text}' is not in '{text}'");
            return new EntitySpan(e.Label, start, start + e.Text.Length, e.Text, e.Score);
        }).ToList(), "test-model", "1.0");

    internal static async Task<IBrowser> LaunchAsync(IPlaywright playwright)
    {
        Assert.True(File.Exists(ChromiumPath), $"Chromium is needed at {ChromiumPath}: apt-get install chromium (scripts/prerequisites.sh), or set CHROMIUM_PATH.");
        return await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    private static async Task<List<long>> ListedIds(IPage page)
    {
        var ids = await page.Locator("#documents tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)");
        return ids.Select(long.Parse).ToList();
    }

    private static async Task<JsonElement> GetDocument(HttpClient client, long id, string? apiKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"documents/{id}");
        if (apiKey is not null)
            request.Headers.Add("X-Api-Key", apiKey);
        return await AssertOkJsonAsync(await client.SendAsync(request));
    }

    private static List<(string Label, int Start, int End, string Text)> Entities(JsonElement document) =>
        document.GetProperty("entities").EnumerateArray()
            .Select(e => (e.GetProperty("label").GetString()!, e.GetProperty("start").GetInt32(), e.GetProperty("end").GetInt32(), e.GetProperty("text").GetString()!))
            .ToList();

    /// <summary>Drags the mouse across the first occurrence of <paramref name="text"/> in the open document, as a person selects it.</summary>
    private static async Task DragSelectAsync(IPage page, string text)
    {
        await Assertions.Expect(page.Locator("#doc-text")).ToContainTextAsync(text);
        var rects = await TextRectanglesAsync(page, text);
        await page.Mouse.MoveAsync((float)rects[0] + 1, (float)rects[1]);
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync((float)rects[2] - 1, (float)rects[3], new MouseMoveOptions { Steps = 5 });
        await page.Mouse.UpAsync();
        Assert.Equal(text, await page.EvaluateAsync<string>("() => window.getSelection().toString()"));
    }

    /// <summary>Double-clicks the middle of the first occurrence of the word <paramref name="word"/>, which selects it.</summary>
    internal static async Task DoubleClickWordAsync(IPage page, string word)
    {
        // The document loads after its row is clicked: on a busy machine the text may not be there yet.
        await Assertions.Expect(page.Locator("#doc-text")).ToContainTextAsync(word);
        var rects = await TextRectanglesAsync(page, word);
        await page.Mouse.DblClickAsync((float)((rects[0] + rects[2]) / 2), (float)rects[1]);
        Assert.Equal(word, (await page.EvaluateAsync<string>("() => window.getSelection().toString()")).Trim());
    }

    /// <summary>The left and vertical middle of the first line box, and the right and middle of the last, of the text's DOM range.</summary>
    private static async Task<double[]> TextRectanglesAsync(IPage page, string text) =>
        // Found by the text's UTF-16 offset in textContent, independently of the page's own conversion.
        await page.EvaluateAsync<double[]>("""
            target => {
              const box = document.getElementById("doc-text");
              const whole = box.textContent;
              const start = whole.indexOf(target), end = start + target.length;
              const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
              const range = document.createRange();
              let seen = 0, node;
              while ((node = walker.nextNode())) {
                const length = node.data.length;
                if (start >= seen && start < seen + length) range.setStart(node, start - seen);
                if (end > seen && end <= seen + length) range.setEnd(node, end - seen);
                seen += length;
              }
              const all = [...range.getClientRects()];
              const first = all[0], last = all[all.length - 1];
              return [first.left, first.top + first.height / 2, last.right, last.top + last.height / 2];
            }
            """, text);

    internal static ILocator Mark(IPage page, string text) =>
        page.Locator("#doc-text mark.entity").Filter(new LocatorFilterOptions { HasTextRegex = new System.Text.RegularExpressions.Regex($"^{System.Text.RegularExpressions.Regex.Escape(text)}$") });

    [Fact]
    public async Task TheListShowsStoredDocumentsLeastConfidentFirstAndNewestFirstWhenAsked()
    {
        var sure = await Store("Angela Merkel visited Paris.", ("PER", "Angela Merkel", 0.99f), ("LOC", "Paris", 0.97f));
        var none = await Store("Nothing to see here.");
        var unsure = await Store("Siemens sued Apple in Cologne.", ("ORG", "Siemens", 0.98f), ("ORG", "Cologne", 0.41f));
        var middling = await Store("Reuters reported it.", ("ORG", "Reuters", 0.75f));
        await using var factory = new NerServiceFactory(fixture.BundlePath, database.ConnectionString);
        var address = factory.StartOnLoopback();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();

        // Without the trailing slash too: the page's relative addresses must still reach the API.
        await page.GotoAsync(new Uri(address, "review").ToString());

        await Assertions.Expect(page.Locator("#documents tbody tr")).ToHaveCountAsync(4);
        Assert.Equal([unsure, middling, sure, none], await ListedIds(page));
        await Assertions.Expect(page.Locator("#documents tbody tr").First.Locator(".score")).ToHaveTextAsync("0.410");
        await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync("0 / 4 reviewed");

        await page.SelectOptionAsync("#filters select[name=order]", "newest");
        await page.ClickAsync("#filters button[type=submit]");
        await Assertions.Expect(page.Locator("#documents tbody tr").First).ToHaveAttributeAsync("data-id", middling.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal([middling, unsure, none, sure], await ListedIds(page));

        await page.SelectOptionAsync("#filters select[name=label]", "ORG");
        await page.SelectOptionAsync("#filters select[name=order]", "least-confident");
        await page.ClickAsync("#filters button[type=submit]");
        await Assertions.Expect(page.Locator("#documents tbody tr")).ToHaveCountAsync(2);
        Assert.Equal([unsure, middling], await ListedIds(page));
        await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync("0 / 2 reviewed");
        Assert.True(await page.Locator("#error").IsHiddenAsync());
    }

    [Fact]
    public async Task AReviewerAddsRelabelsAndRemovesEntitiesWithKeysAndClicksThenAcceptsAndMovesOn()
    {
        const string text = "Angela Merkel met Tim Cook in Paris on Monday.";
        var first = await Store(text, ("PER", "Angela Merkel", 0.52f), ("ORG", "Tim Cook", 0.61f), ("LOC", "Monday", 0.4f));
        var second = await Store("Reuters reported it from London.", ("ORG", "Reuters", 0.9f));
        await using var factory = new NerServiceFactory(fixture.BundlePath, database.ConnectionString);
        var address = factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(address, "review/").ToString());

        await page.ClickAsync($"#documents tbody tr[data-id='{first}']");
        await Assertions.Expect(page.Locator("#document-heading")).ToHaveTextAsync($"Document {first}");
        Assert.Equal(text, await page.Locator("#doc-text").TextContentAsync());
        await Assertions.Expect(page.Locator("#doc-text mark.entity")).ToHaveCountAsync(3);

        // Add: double-click selects the word, the LOC key (2) labels it.
        await DoubleClickWordAsync(page, "Paris");
        await page.Keyboard.PressAsync("2");
        await Assertions.Expect(Mark(page, "Paris")).ToHaveAttributeAsync("data-label", "LOC");
        // Change: click the entity, then the PER button.
        await Mark(page, "Tim Cook").ClickAsync();
        await page.ClickAsync("#labels button[data-label=PER]");
        await Assertions.Expect(Mark(page, "Tim Cook")).ToHaveAttributeAsync("data-label", "PER");
        // Change by letter key, then remove: click, Delete.
        await Mark(page, "Angela Merkel").ClickAsync();
        await page.Keyboard.PressAsync("m");
        await Assertions.Expect(Mark(page, "Angela Merkel")).ToHaveAttributeAsync("data-label", "MISC");
        await page.Keyboard.PressAsync("p");
        await Mark(page, "Monday").ClickAsync();
        await page.Keyboard.PressAsync("Delete");
        await Assertions.Expect(page.Locator("#doc-text mark.entity")).ToHaveCountAsync(3);

        // Accept: saved as reviewed, and the next document of the list opens.
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#document-heading")).ToHaveTextAsync($"Document {second}");
        await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync("1 / 2 reviewed");

        var stored = await GetDocument(client, first);
        Assert.True(stored.GetProperty("reviewed").GetBoolean());
        Assert.Equal(
            [("PER", 0, 13, "Angela Merkel"), ("PER", 18, 26, "Tim Cook"), ("LOC", 30, 35, "Paris")],
            Entities(stored));
        Assert.False((await GetDocument(client, second)).GetProperty("reviewed").GetBoolean());

        // The `a` key accepts too; after the last document the list comes back.
        await page.Keyboard.PressAsync("a");
        await Assertions.Expect(page.Locator("#list-view")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync("2 / 2 reviewed");
        Assert.True((await GetDocument(client, second)).GetProperty("reviewed").GetBoolean());
        Assert.True(await page.Locator("#error").IsHiddenAsync());
    }

    [Fact]
    public async Task EntitiesAddedAfterEmojiCombiningMarksAndRightToLeftTextGetTheApisOffsets()
    {
        // A surrogate pair, an emoji with a skin tone, a combining acute accent (e + U+0301), Hebrew (right to
        // left) and a ZWJ family emoji: UTF-16 offsets differ from code point and grapheme offsets after each.
        const string text = "🎉👍🏽 Ame\u0301lie met שלום עולם in Paris 👩‍👩‍👧 with Zoe\u0308 today.";
        var id = await Store(text);
        await using var factory = new NerServiceFactory(fixture.BundlePath, database.ConnectionString);
        var address = factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(address, "review/").ToString());
        await page.ClickAsync($"#documents tbody tr[data-id='{id}']");
        await Assertions.Expect(page.Locator("#doc-text")).ToHaveTextAsync(text);

        await DragSelectAsync(page, "Ame\u0301lie");
        await page.Keyboard.PressAsync("1");
        await DoubleClickWordAsync(page, "שלום");
        await page.Keyboard.PressAsync("3");
        await DragSelectAsync(page, "Paris");
        await page.ClickAsync("#labels button[data-label=LOC]");
        await DragSelectAsync(page, "Zoe\u0308");
        await page.Keyboard.PressAsync("p");
        await Assertions.Expect(page.Locator("#doc-text mark.entity")).ToHaveCountAsync(4);
        Assert.Equal(text, await page.Locator("#doc-text").TextContentAsync());
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync("1 / 1 reviewed");

        // The API counts UTF-16 code units, as .NET strings do: the stored spans are exactly these.
        (string, int, int, string) Expected(string label, string entity)
        {
            var start = text.IndexOf(entity, StringComparison.Ordinal);
            return (label, start, start + entity.Length, entity);
        }
        var stored = await GetDocument(client, id);
        Assert.Equal(
            [Expected("PER", "Ame\u0301lie"), Expected("ORG", "שלום"), Expected("LOC", "Paris"), Expected("PER", "Zoe\u0308")],
            Entities(stored));
        Assert.Equal(32, Expected("LOC", "Paris").Item2);
    }

    [Fact]
    public async Task ASelectionThatEndsInsideAGraphemeIsWidenedToWholeCharacters()
    {
        const string text = "Zoe\u0308 met 👩‍👩‍👧 Müller.";
        var id = await Store(text);
        await using var factory = new NerServiceFactory(fixture.BundlePath, database.ConnectionString);
        var address = factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(address, "review/").ToString());
        await page.ClickAsync($"#documents tbody tr[data-id='{id}']");
        await Assertions.Expect(page.Locator("#doc-text")).ToHaveTextAsync(text);

        // A script's selection can end between a letter and its combining mark, or inside an emoji's surrogate pair.
        await page.EvaluateAsync("""
            ([start, end]) => {
              const node = document.getElementById("doc-text").firstChild;
              const range = document.createRange();
              range.setStart(node, start);
              range.setEnd(node, end);
              getSelection().removeAllRanges();
              getSelection().addRange(range);
            }
            """, new[] { 0, 3 });
        await page.Keyboard.PressAsync("1");
        await page.EvaluateAsync("""
            ([start, end]) => {
              const node = document.getElementById("doc-text").lastChild;
              const offset = document.getElementById("doc-text").textContent.length - node.data.length;
              const range = document.createRange();
              range.setStart(node, start - offset);
              range.setEnd(node, end - offset);
              getSelection().removeAllRanges();
              getSelection().addRange(range);
            }
            """, new[] { text.IndexOf("👩", StringComparison.Ordinal) + 1, text.IndexOf("👩", StringComparison.Ordinal) + 3 });
        await page.Keyboard.PressAsync("4");
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync("1 / 1 reviewed");

        var family = text.IndexOf("👩", StringComparison.Ordinal);
        Assert.Equal(
            [("PER", 0, 4, "Zoe\u0308"), ("MISC", family, family + "👩‍👩‍👧".Length, "👩‍👩‍👧")],
            Entities(await GetDocument(client, id)));
    }

    [Fact]
    public async Task ThePageShowsTheApisProblemDetailsFor401And403()
    {
        var document = Document("Siemens sued Apple.", ("ORG", "Siemens", 0.8f)) with { Tenant = "acme" };
        var id = (await database.Store.InsertAsync([document]))[0];
        await using var factory = new NerServiceFactory(fixture.BundlePath, database.ConnectionString, new Dictionary<string, string?>
        {
            ["Ner:ApiKeys:0:Key"] = "reviewer-key",
            ["Ner:ApiKeys:0:Tenant"] = "acme",
            ["Ner:ApiKeys:0:Role"] = "reviewer",
        });
        var address = factory.StartOnLoopback();
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync();
        await page.GotoAsync(new Uri(address, "review/").ToString());

        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("401");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("reviewer role");
        await Assertions.Expect(page.Locator("#api-key")).ToBeVisibleAsync();

        await page.FillAsync("#api-key", "reviewer-key");
        await page.ClickAsync("#filters button[type=submit]");
        await Assertions.Expect(page.Locator($"#documents tbody tr[data-id='{id}']")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#error")).ToBeHiddenAsync();
        Assert.Equal("reviewer-key", await page.EvaluateAsync<string>("() => localStorage.getItem('ner-api-key')"));

        // The export needs an admin: the 403's detail names the role.
        await page.ClickAsync("#export");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("403");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("needs admin");
    }

    /// <summary>
    /// The README's screenshots, of documents the committed default model tagged. Written to
    /// NERSERVICE_REVIEW_SCREENSHOTS when set (scripts/review-screenshots.sh sets docs/images), else to a
    /// temporary folder, so the test checks the capture either way.
    /// </summary>
    [Fact]
    public async Task ScreenshotsOfTheListAndOfADocumentAreWritten()
    {
        var bundle = Path.Combine(RepositoryRoot(), "models", "ner-default.bundle");
        Assert.True(File.Exists(bundle), $"The default model is needed at {bundle}.");
        var configured = Environment.GetEnvironmentVariable("NERSERVICE_REVIEW_SCREENSHOTS") is { Length: > 0 } path ? path : null;
        var folder = configured is not null ? Directory.CreateDirectory(configured).FullName : Directory.CreateTempSubdirectory("review-screenshots-").FullName;
        try
        {
            await CaptureAsync(bundle, folder);
        }
        finally
        {
            if (configured is null)
                Directory.Delete(folder, recursive: true);
        }
    }

    private async Task CaptureAsync(string bundle, string folder)
    {
        await using var factory = new NerServiceFactory(bundle, database.ConnectionString);
        var address = factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        string[] texts =
        [
            "EU rejects German call to boycott British lamb.",
            "Siemens sued Apple in Cologne on Tuesday, a spokesman for the company said.",
            "Peter Blackburn reported from Brussels for Reuters.",
            "Jordan beat Syria 2-1 in the Asian Cup qualifier in Amman.",
            "Nadim Ladki met the Lebanese foreign minister in Beirut.",
            "The Wall Street Journal said Goldman Sachs would hire 300 bankers in Frankfurt.",
            "Germany's Steffi Graf won the Hamburg title after Monica Seles withdrew.",
            "Shares in Daimler-Benz rose 2 percent in Frankfurt trading.",
        ];
        long first = 0;
        foreach (var text in texts)
        {
            var id = (await AssertOkJsonAsync(await client.PostAsJsonAsync("ner", new { text }))).GetProperty("id").GetInt64();
            first = first == 0 ? id : first;
        }
        await AssertOkJsonAsync(await client.PutAsJsonAsync($"documents/{first}/entities", new
        {
            entities = new[] { new { label = "ORG", start = 0, end = 2 }, new { label = "MISC", start = 11, end = 17 }, new { label = "MISC", start = 34, end = 41 } },
        }));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1100, Height = 640 } });
        await page.GotoAsync(new Uri(address, "review/").ToString());
        await page.SelectOptionAsync("#filters select[name=reviewed]", "");
        await page.ClickAsync("#filters button[type=submit]");
        await Assertions.Expect(page.Locator("#documents tbody tr")).ToHaveCountAsync(texts.Length);
        await Assertions.Expect(page.Locator("#progress")).ToHaveTextAsync($"1 / {texts.Length} reviewed");
        var listImage = Path.Combine(folder, "review-list.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = listImage, FullPage = true });

        await page.Locator("#documents tbody tr").First.ClickAsync();
        await Assertions.Expect(page.Locator("#document-view")).ToBeVisibleAsync();
        await page.Locator("#doc-text mark.entity").First.ClickAsync();
        var documentImage = Path.Combine(folder, "review-document.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = documentImage, FullPage = true });

        foreach (var image in new[] { listImage, documentImage })
        {
            var bytes = await File.ReadAllBytesAsync(image);
            Assert.True(bytes.Length > 10_000, $"{image} is only {bytes.Length} bytes");
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "NerService.sln")))
                return directory.FullName;
        }
        throw new InvalidOperationException("The repository root (with NerService.sln) is not above " + AppContext.BaseDirectory);
    }
}
