using PowerEvents.Hosting;
using PowerEvents.SensorPoller;

return await ServiceDefaults.RunAsync(args, SensorPollerHost.Build);
