var builder = WebApplication.CreateBuilder(args);
var app = builder.Build();
app.MapGet("/health/live", () => TypedResults.Ok());
app.Run();

/// <summary>Entry point, public so that tests can start the application in memory.</summary>
public partial class Program;
