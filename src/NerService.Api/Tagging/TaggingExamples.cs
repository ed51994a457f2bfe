namespace NerService.Api.Tagging;

/// <summary>Examples for the OpenAPI document.</summary>
internal static class TaggingExamples
{
    private const string Text = "Angela Merkel visited Paris with Siemens staff.";
    private static readonly ModelReference ModelRef = new("ner-default", "1.0.0");

    public static readonly NerRequest Request = new() { Text = Text, OffsetUnit = "utf16", IncludeTokens = false, MinScore = 0.5, Alternatives = true };

    public static readonly NerResponse Response = new(1042, ModelRef,
    [
        new EntityResult("Angela Merkel", "PER", 0, 13, 0.98f, [new AlternativeResult("Merkel", "PER", 7, 13, 0.01f)]),
        new EntityResult("Paris", "LOC", 22, 27, 0.97f, [new AlternativeResult("Paris", "PER", 22, 27, 0.02f)]),
        new EntityResult("Siemens", "ORG", 33, 40, 0.81f,
            [new AlternativeResult("Siemens", "MISC", 33, 40, 0.12f), new AlternativeResult("Siemens staff", "ORG", 33, 46, 0.03f)]),
    ], null, []);

    public static readonly NerBatchRequest BatchRequest = new()
    {
        Documents =
        [
            new NerBatchDocument { Id = "a", Text = "Angela Merkel visited Paris." },
            new NerBatchDocument { Id = "b" },
        ],
    };

    public static readonly NerBatchResponse BatchResponse = new(ModelRef,
    [
        new NerBatchResult("a", 1043, [new EntityResult("Angela Merkel", "PER", 0, 13, 0.98f), new EntityResult("Paris", "LOC", 22, 27, 0.97f)], null, null),
        new NerBatchResult("b", null, null, null, new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = 400,
            Title = "The document is not valid.",
            Detail = "The field 'documents[1].text' is required.",
        }),
    ]);

    public static readonly ModelResponse Model = new(
        "ner-default", "1.0.0", ["LOC", "MISC", "ORG", "PER"], "BIO",
        ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"],
        new Dictionary<string, double> { ["f1"] = 0.89, ["precision"] = 0.89, ["recall"] = 0.88 },
        new Dictionary<string, string> { ["train.txt"] = "sha256:…", ["valid.txt"] = "sha256:…" },
        new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), "0123abc");

    public static readonly ModelLoadRequest LoadRequest = new() { Bundle = "ner-default.v2.bundle" };

    public static readonly ModelSwitch Switch = new("default",
        new ServedBundle("ner-default", "1.1.0", "/app/models/ner-default.v2.bundle"),
        new ServedBundle("ner-default", "1.0.0", "/app/models/ner-default.bundle"),
        4.2);

    /// <summary>What model updates answer when they do not switch.</summary>
    public static readonly IReadOnlyDictionary<string, Microsoft.AspNetCore.Mvc.ProblemDetails> SwitchProblems = new Dictionary<string, Microsoft.AspNetCore.Mvc.ProblemDetails>
    {
        ["400"] = new() { Status = 400, Title = "The bundle is outside the models folder.",
            Detail = "Bundles are loaded from the models folder (Ner:ModelsDirectory); '../ner.bundle' is not inside it. Copy the bundle there and name it relative to the folder." },
        ["404"] = new() { Status = 404, Title = "No such model.", Detail = "There is no model 'fast'; this service serves 'default'." },
        ["409"] = new() { Status = 409, Title = "Nothing to restore.",
            Detail = "The model 'default' has served one bundle since the service started; there is no previous one to go back to." },
        ["422"] = new() { Status = 422, Title = "The bundle was not loaded; the served model is unchanged.",
            Detail = "The bundle tags LOC, ORG, PER; the model 'default' tags LOC, MISC, ORG, PER. A model update keeps the entity types, which stored documents and corrections use." },
    };
}
