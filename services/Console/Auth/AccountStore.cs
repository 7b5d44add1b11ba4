using System.Security.Cryptography;
using System.Text;
using Npgsql;
using PowerEvents.Console.Persistence;

namespace PowerEvents.Console.Auth;

public enum LoginResult { Ok, BadCredentials, LockedOut }

public sealed record Account(string Name, string Role);

/// <summary>Local accounts (Argon2id hashes, lockout after repeated failures) and API tokens (stored as SHA-256 only).</summary>
public sealed class AccountStore(NpgsqlDataSource dataSource, ConsoleSchema schema, ConsoleOptions options, TimeProvider clock)
{
    // Verified against when the account does not exist, so that a wrong name takes as long as a wrong password.
    static readonly Lazy<string> DummyHash = new(() => PasswordHasher.Hash(Guid.NewGuid().ToString()));
    public const string TokenPrefix = "pec_";

    public async Task<bool> AnyAsync(CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        await using var command = dataSource.CreateCommand("SELECT EXISTS (SELECT 1 FROM console_users)");
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task<bool> CreateAsync(string name, string password, string role, CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        await using var command = dataSource.CreateCommand("INSERT INTO console_users (name, role, password_hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = role });
        command.Parameters.Add(new NpgsqlParameter { Value = PasswordHasher.Hash(password) });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<(LoginResult Result, Account? Account)> LoginAsync(string name, string password, CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        var now = clock.GetUtcNow();
        string? role = null, hash = null;
        DateTimeOffset? lockedUntil = null;
        await using (var read = dataSource.CreateCommand("SELECT role, password_hash, locked_until FROM console_users WHERE name = $1"))
        {
            read.Parameters.Add(new NpgsqlParameter { Value = name });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                role = reader.GetString(0);
                hash = reader.GetString(1);
                lockedUntil = reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2);
            }
        }

        if (hash is null)
        {
            PasswordHasher.Verify(password, DummyHash.Value);
            return (LoginResult.BadCredentials, null);
        }
        if (lockedUntil > now)
            return (LoginResult.LockedOut, null);

        if (PasswordHasher.Verify(password, hash))
        {
            await using var ok = dataSource.CreateCommand("UPDATE console_users SET failed_logins = 0, locked_until = NULL WHERE name = $1");
            ok.Parameters.Add(new NpgsqlParameter { Value = name });
            await ok.ExecuteNonQueryAsync(cancellationToken);
            return (LoginResult.Ok, new Account(name, role!));
        }

        await using var failed = dataSource.CreateCommand(
            """
            UPDATE console_users SET failed_logins = failed_logins + 1,
                locked_until = CASE WHEN failed_logins + 1 >= $2 THEN $3 ELSE locked_until END
            WHERE name = $1 RETURNING locked_until
            """);
        failed.Parameters.Add(new NpgsqlParameter { Value = name });
        failed.Parameters.Add(new NpgsqlParameter { Value = options.MaxFailedLogins });
        failed.Parameters.Add(new NpgsqlParameter { Value = now + options.LockoutDuration });
        var locked = await failed.ExecuteScalarAsync(cancellationToken);
        return (locked is DateTimeOffset or DateTime ? LoginResult.LockedOut : LoginResult.BadCredentials, null);
    }

    /// <summary>A new API token for the account; the token is shown once and only its hash is kept.</summary>
    public async Task<string> CreateTokenAsync(string user, string label, CancellationToken cancellationToken)
    {
        var token = TokenPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        await using var command = dataSource.CreateCommand("INSERT INTO console_tokens (token_hash, user_name, label) VALUES ($1, $2, $3)");
        command.Parameters.Add(new NpgsqlParameter { Value = TokenHash(token) });
        command.Parameters.Add(new NpgsqlParameter { Value = user });
        command.Parameters.Add(new NpgsqlParameter { Value = label });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return token;
    }

    public async Task<Account?> FindByTokenAsync(string token, CancellationToken cancellationToken)
    {
        await schema.EnsureAsync(cancellationToken);
        await using var command = dataSource.CreateCommand(
            """
            UPDATE console_tokens t SET last_used_at = now() FROM console_users u
            WHERE t.token_hash = $1 AND u.name = t.user_name RETURNING u.name, u.role
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = TokenHash(token) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new Account(reader.GetString(0), reader.GetString(1)) : null;
    }

    static byte[] TokenHash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
