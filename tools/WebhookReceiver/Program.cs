using PowerEvents.WebhookReceiver;

var app = ReceiverApp.Build(args);
await app.RunAsync();
