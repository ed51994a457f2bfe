namespace NerService.Api.Tests.Documents;

/// <summary>Tests over the documents endpoints' own app (<see cref="DocumentsTestApp"/>) and a test database of their own.</summary>
public abstract class DocumentsAppTests : IAsyncLifetime
{
    protected TestDatabase Database { get; private set; } = null!;

    protected DocumentsTestApp App { get; private set; } = null!;

    protected HttpClient Client => App.Client;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        App = await DocumentsTestApp.StartAsync(Database.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await App.DisposeAsync();
        await Database.DisposeAsync();
    }
}
