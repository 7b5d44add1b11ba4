using PowerEvents.Hosting;
using PowerEvents.VCenterActuator;

return await ServiceDefaults.RunAsync(args, VCenterActuatorHost.Build);
