using System.ComponentModel.DataAnnotations;

namespace PowerEvents.Hosting;

/// <summary>Connection to the RabbitMQ broker (configuration section <c>RabbitMq</c>).</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";

    [Required]
    public string Host { get; set; } = "";

    [Range(1, 65535)]
    public int Port { get; set; } = 5672;

    [Required]
    public string VirtualHost { get; set; } = "/";

    [Required]
    public string Username { get; set; } = "";

    /// <summary>From <c>RabbitMq__Password</c> or a file named by <c>RabbitMq__Password_FILE</c>.</summary>
    [Required]
    public string Password { get; set; } = "";

    /// <summary>
    /// A connection of this account outside MassTransit, for the few broker calls it has no API for (unbinding what an
    /// earlier version bound). No automatic recovery: each user reconnects by itself; short timeouts, as the broker is local.
    /// </summary>
    public RabbitMQ.Client.ConnectionFactory ConnectionFactory(string clientName) => new()
    {
        HostName = Host,
        Port = Port,
        VirtualHost = VirtualHost,
        UserName = Username,
        Password = Password,
        ClientProvidedName = clientName,
        AutomaticRecoveryEnabled = false,
        RequestedConnectionTimeout = TimeSpan.FromSeconds(10),
        ContinuationTimeout = TimeSpan.FromSeconds(10),
    };
}
