using PowerEvents.Tools.MerakiSimulator;

// Listens where --urls says (default http://127.0.0.1:35480); API keys from --Simulator:ApiKeys:0=... .
await SimulatorApp.Build(args).RunAsync();
