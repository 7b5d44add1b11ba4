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
}
