using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace PowerEvents.Testing;

/// <summary>
/// Every log line an in-process host writes from <paramref name="minimum"/> up, as "HH:mm:ss.fff Level Category: message",
/// with the exception's type and message appended, for assertions on what it logged and for a failure's report.
/// </summary>
public sealed class LogLines(LogLevel minimum = LogLevel.Information) : ILoggerProvider
{
    readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyCollection<string> Lines => _lines;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, minimum, _lines);

    public void Dispose()
    {
    }

    sealed class Logger(string category, LogLevel minimum, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var cause = exception is null ? "" : $" | {exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")}";
            lines.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {category}: {formatter(state, exception)}{cause}");
        }
    }
}
