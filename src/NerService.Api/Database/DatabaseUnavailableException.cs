using System.Net.Sockets;
using Npgsql;

namespace NerService.Api.Database;

/// <summary>
/// The database could not be reached or dropped the connection: the operation did not happen (or was rolled
/// back) and may succeed later. Endpoints answer 503 with Retry-After (<see cref="DatabaseUnavailable"/>).
/// </summary>
public sealed class DatabaseUnavailableException(string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    /// <summary>
    /// Whether an exception means the database is unreachable rather than that the statement was wrong.
    /// Npgsql marks connection refusals, broken connections, timeouts and server shutdowns as transient.
    /// </summary>
    public static bool IsConnectionFailure(Exception exception) => exception switch
    {
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is SocketException or IOException or TimeoutException,
        SocketException => true,
        _ => false,
    };

    /// <summary>Runs a database operation, turning connection failures into <see cref="DatabaseUnavailableException"/>.</summary>
    public static async Task<T> Guard<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            throw new DatabaseUnavailableException("The database is unavailable: " + ex.Message, ex);
        }
    }

    /// <inheritdoc cref="Guard{T}(Func{Task{T}})"/>
    public static async Task Guard(Func<Task> operation)
    {
        try
        {
            await operation();
        }
        catch (Exception ex) when (IsConnectionFailure(ex))
        {
            throw new DatabaseUnavailableException("The database is unavailable: " + ex.Message, ex);
        }
    }
}
