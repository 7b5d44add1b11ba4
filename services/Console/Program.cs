using PowerEvents.Console;
using PowerEvents.Hosting;

return await ServiceDefaults.RunAsync(args, ConsoleHost.Build);
