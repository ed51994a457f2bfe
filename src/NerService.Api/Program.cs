using NerService.Api.Documents;

var builder = WebApplication.CreateBuilder(args);
if (args is ["migrate", ..]) { await builder.MigrateDatabaseAsync(); return; }
builder.AddDocumentStore();
var app = builder.Build();
app.MapGet("/health/live", () => TypedResults.Ok());
app.MapDocumentsApi();
app.Run();

/// <summary>Entry point, public so that tests can start the application in memory.</summary>
public partial class Program;
