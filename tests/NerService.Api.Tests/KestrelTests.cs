using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NerService.Api.Tagging;
using static NerService.Api.Tests.ResponseAssertions;

namespace NerService.Api.Tests;

/// <summary>Through a real socket: what HTTP clients, load balancers and the shutdown signal see.</summary>
[Collection(ServiceCollection.Name)]
public sealed class KestrelTests(ServiceFixture fixture)
{
    [Fact]
    public async Task TheServiceAnswersThroughARealSocket()
    {
        await using var factory = new NerServiceFactory(fixture);
        using var client = new HttpClient { BaseAddress = factory.StartOnLoopback() };

        Assert.Equal(IPAddress.Loopback.ToString(), client.BaseAddress.Host);
        var result = await AssertOkJsonAsync(await client.PostAsJsonAsync("ner", new { text = "John Smith visited Paris." }));
        Assert.Equal("test-bundle", result.GetProperty("model").GetProperty("name").GetString());
        await AssertProblemAsync(await client.PostAsync("ner", new StringContent("Paris")), HttpStatusCode.UnsupportedMediaType);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("health/ready")).StatusCode);
    }

    [Fact]
    public async Task ABodyOverTheConfiguredLimitIsRefusedWith413ByKestrel()
    {
        // Texts of a million characters are allowed, so only the body limit can refuse this one.
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?>
        {
            ["Ner:Limits:MaxRequestBodyBytes"] = "65536",
            ["Ner:Limits:MaxTextCharacters"] = "1000000",
        });
        using var client = new HttpClient { BaseAddress = factory.StartOnLoopback() };

        using var response = await client.PostAsJsonAsync("ner", new { text = new string('a', 100_000), store = false });

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        await AssertOkJsonAsync(await client.PostAsJsonAsync("ner", new { text = new string('a', 60_000), store = false }));
    }

    [Fact]
    public async Task StoppingTheServiceFinishesQueuedWorkThenStopsListening()
    {
        // A long batching delay keeps the request waiting in the tagger when shutdown begins.
        await using var factory = new NerServiceFactory(fixture, new Dictionary<string, string?> { ["Ner:Batching:MaxDelayMs"] = "1500" });
        var address = factory.StartOnLoopback();
        using var client = new HttpClient { BaseAddress = address };
        var inFlight = client.PostAsJsonAsync("ner", new { text = "John Smith visited Paris." });
        // Stop once the text is in the tagger (not after a guessed delay, which a loaded machine can outlast).
        var tagger = factory.Services.GetRequiredService<TaggerRegistry>().Default.Tagger;
        for (var waited = 0; tagger.AdmittedTokens == 0 && !inFlight.IsCompleted; waited++)
        {
            Assert.True(waited < 3000, "The request did not reach the tagger within a minute.");
            await Task.Delay(20);
        }

        factory.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();

        await AssertOkJsonAsync(await inFlight);
        await WaitUntilRefusedAsync(address);
    }

    private static async Task WaitUntilRefusedAsync(Uri address)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, address.Port);
            }
            catch (SocketException)
            {
                return;
            }
            await Task.Delay(100);
        }
        Assert.Fail("The service kept accepting connections after shutdown.");
    }
}
