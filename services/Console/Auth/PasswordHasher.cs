using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;

namespace PowerEvents.Console.Auth;

/// <summary>Argon2id with OWASP's minimum parameters (19 MiB, 2 passes, 1 lane); the parameters are stored with each hash.</summary>
public static class PasswordHasher
{
    const int MemoryKib = 19456, Iterations = 2, Parallelism = 1, SaltBytes = 16, HashBytes = 32;

    public static string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Compute(password, salt, MemoryKib, Iterations, Parallelism);
        return $"argon2id$m={MemoryKib},t={Iterations},p={Parallelism}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    public static bool Verify(string password, string encoded)
    {
        var parts = encoded.Split('$');
        if (parts is not ["argon2id", var parameters, var salt, var hash])
            return false;
        var values = parameters.Split(',').Select(p => int.Parse(p[2..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var expected = Convert.FromBase64String(hash);
        return CryptographicOperations.FixedTimeEquals(Compute(password, Convert.FromBase64String(salt), values[0], values[1], values[2]), expected);
    }

    static byte[] Compute(string password, byte[] salt, int memoryKib, int iterations, int parallelism)
    {
        using var argon = new Argon2id(Encoding.UTF8.GetBytes(password))
        {
            Salt = salt,
            MemorySize = memoryKib,
            Iterations = iterations,
            DegreeOfParallelism = parallelism,
        };
        return argon.GetBytes(HashBytes);
    }
}
