using PowerEvents.AlarmEvaluator;
using PowerEvents.Hosting;

return await ServiceDefaults.RunAsync(args, AlarmEvaluatorHost.Build);
