using PowerEvents.Hosting;
using PowerEvents.IloActuator;

return await ServiceDefaults.RunAsync(args, IloActuatorHost.Build);
