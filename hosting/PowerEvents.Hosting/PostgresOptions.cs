using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace PowerEvents.Hosting;

/// <summary>Connection to PostgreSQL (configuration section <c>Postgres</c>).</summary>
public sealed class PostgresOptions
{
    public const string Section = "Postgres";

    [Required]
    public string Host { get; set; } = "";

    [Range(1, 65535)]
    public int Port { get; set; } = 5432;

    [Required]
    public string Database { get; set; } = "";

    [Required]
    public string Username { get; set; } = "";

    /// <summary>From <c>Postgres__Password</c> or a file named by <c>Postgres__Password_FILE</c>; may be empty for trust auth.</summary>
    public string Password { get; set; } = "";

    public string ToConnectionString() => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Database = Database,
        Username = Username,
        Password = string.IsNullOrEmpty(Password) ? null : Password,
        ApplicationName = AppDomain.CurrentDomain.FriendlyName,
        // Npgsql tries GSS encryption first by default; without Kerberos libraries (the aspnet image) that prints
        // libgssapi_krb5 errors to stderr on every connection. Password authentication over the local network needs none.
        GssEncryptionMode = GssEncryptionMode.Disable,
        // A statement used again and again on a connection (a run's outcomes: a few statements thousands of times) is
        // prepared there, so PostgreSQL parses and plans it once instead of every time (parsing alone was 3 % of its CPU
        // samples in the 4,096-VM benchmark). Off by default in Npgsql; its least recently used of this many give way.
        MaxAutoPrepare = 64,
    }.ConnectionString;
}
