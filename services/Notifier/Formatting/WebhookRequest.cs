namespace PowerEvents.Notifier.Formatting;

/// <summary>A rendered alert: the JSON body and the headers that go with it (the signature for the generic format).</summary>
public sealed record WebhookRequest(string Body, IReadOnlyDictionary<string, string> Headers);
