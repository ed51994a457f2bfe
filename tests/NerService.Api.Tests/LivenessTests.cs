using Microsoft.AspNetCore.Mvc.Testing;

namespace NerService.Api.Tests;

public class LivenessTests
{
    [Fact]
    public async Task LivenessAnswersOk()
    {
        await using var factory = new WebApplicationFactory<Program>();
        using var client = factory.CreateClient();
        var response = await client.GetAsync("/health/live");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }
}
