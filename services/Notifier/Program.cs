using PowerEvents.Hosting;
using PowerEvents.Notifier;

return await ServiceDefaults.RunAsync(args, NotifierHost.Build);
