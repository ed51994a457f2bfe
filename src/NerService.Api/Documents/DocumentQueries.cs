using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using NerService.Api.Security;

namespace NerService.Api.Documents;

/// <summary>
/// The filters of <c>GET /documents</c> and <c>GET /documents/count</c>, bound from the query string. Times and
/// booleans stay text here so that a bad value gets a 400 naming the parameter (<see cref="ToFilter"/>).
/// </summary>
public sealed record DocumentFilterQuery
{
    /// <summary>An entity of this label (PER, LOC, ORG, MISC).</summary>
    [FromQuery(Name = "label")] public string? Label { get; init; }

    /// <summary>An entity with exactly this text (case-sensitive).</summary>
    [FromQuery(Name = "text")] public string? Text { get; init; }

    /// <summary>An entity whose text starts with this (case-insensitive).</summary>
    [FromQuery(Name = "prefix")] public string? Prefix { get; init; }

    /// <summary>Full-text query over the document text, in web-search syntax.</summary>
    [FromQuery(Name = "q")] public string? Q { get; init; }

    /// <summary>Stored at or after this ISO 8601 time.</summary>
    [FromQuery(Name = "from")] public string? From { get; init; }

    /// <summary>Stored before this ISO 8601 time.</summary>
    [FromQuery(Name = "to")] public string? To { get; init; }

    /// <summary>true: reviewed documents only; false: those not yet reviewed.</summary>
    [FromQuery(Name = "reviewed")] public string? Reviewed { get; init; }

    /// <summary>Tagged by the model of this name.</summary>
    [FromQuery(Name = "model")] public string? Model { get; init; }

    /// <summary>Tagged by a model of this version.</summary>
    [FromQuery(Name = "modelVersion")] public string? ModelVersion { get; init; }

    /// <summary>An admin's choice of one tenant; others may only name their own.</summary>
    [FromQuery(Name = "tenant")] public string? Tenant { get; init; }

    /// <summary>The store's filter for these parameters, read through <paramref name="query"/> (which keeps the first problem).</summary>
    internal DocumentFilter ToFilter(QueryReader query) => new()
    {
        Tenant = query.Scope(Tenant),
        Label = query.Text(Label, "label"),
        EntityText = query.Text(Text, "text"),
        EntityPrefix = query.Text(Prefix, "prefix"),
        Query = query.Text(Q, "q"),
        From = query.Time(From, "from"),
        To = query.Time(To, "to"),
        Reviewed = query.Boolean(Reviewed, "reviewed"),
        ModelName = query.Text(Model, "model"),
        ModelVersion = query.Text(ModelVersion, "modelVersion"),
    };
}

/// <summary>
/// Reads the query-string values of the document and entity endpoints for one caller, keeping the first problem
/// (the one a 400 names); each read returns a usable default when its value is refused.
/// </summary>
internal sealed class QueryReader(ApiClient client)
{
    public const int DefaultPageSize = 20;

    /// <summary>The first value refused, as a sentence for the problem's detail; null when all were fine.</summary>
    public string? Problem { get; private set; }

    public void Refuse(string detail) => Problem ??= detail;

    /// <summary>
    /// The tenant a request reaches: the caller's own, or for an admin every tenant or the one named by <c>tenant</c>.
    /// Naming another tenant without being an admin is refused rather than ignored.
    /// </summary>
    public string? Scope(string? tenant)
    {
        if (string.IsNullOrEmpty(tenant) || tenant == client.Scope)
            return client.Scope;
        if (client.Role == ApiRole.Admin)
            return Text(tenant, "tenant");
        Refuse("'tenant' can only name another tenant with an admin key; leave it out to reach this key's own tenant.");
        return client.Scope;
    }

    public string? Text(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (value.Contains('\0'))
            Refuse($"'{name}' contains a NUL character.");
        return value;
    }

    public int PageSize(string? value, int max)
    {
        if (string.IsNullOrEmpty(value))
            return DefaultPageSize;
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size) && size >= 1 && size <= max)
            return size;
        Refuse($"'limit' must be a whole number from 1 to {max}.");
        return DefaultPageSize;
    }

    public DateTimeOffset? Time(string? value, string name) =>
        Parse(value, (string text, out DateTimeOffset time) => DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out time),
            $"'{name}' is not a date and time; use ISO 8601, e.g. 2025-01-31T12:00:00Z.");

    public bool? Boolean(string? value, string name) => Parse<bool>(value, bool.TryParse, $"'{name}' must be true or false.");

    private delegate bool TryParse<T>(string text, out T value);

    /// <summary>Null for an absent value, else the parsed value, or null with <paramref name="problem"/> refused.</summary>
    private T? Parse<T>(string? value, TryParse<T> tryParse, string problem) where T : struct
    {
        if (string.IsNullOrEmpty(value))
            return null;
        if (tryParse(value, out var parsed))
            return parsed;
        Refuse(problem);
        return null;
    }

    public static ProblemHttpResult BadRequest(string detail) =>
        TypedResults.Problem(title: "Invalid request", detail: detail, statusCode: StatusCodes.Status400BadRequest);
}
