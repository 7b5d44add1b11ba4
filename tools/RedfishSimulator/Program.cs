using System.Runtime.InteropServices;
using PowerEvents.RedfishSimulator;

// One process serves several simulated BMCs, each on its own port (see docs/bmc.md):
//   --Bmcs:0:Name=esx-01 --Bmcs:0:Port=35501 --Bmcs:0:VcsimHost=esx-01.pe.test --Bmcs:0:VcsimControlUrl=http://127.0.0.1:35444
// or, one BMC per vcsim host numbered from 1:
//   --Count=3 --BasePort=35501 --VcsimControlUrl=http://127.0.0.1:35444 [--VcsimHostFormat=esx-{0:00}.pe.test]
var configuration = new ConfigurationBuilder()
    .AddEnvironmentVariables("REDFISH_SIM_")
    .AddCommandLine(args)
    .Build();

var bmcs = configuration.GetSection("Bmcs").Get<List<SimulatedBmcOptions>>() ?? [];
if (bmcs.Count == 0)
{
    var count = configuration.GetValue("Count", 1);
    var basePort = configuration.GetValue("BasePort", 0);
    var hostFormat = configuration["VcsimHostFormat"] ?? "esx-{0:00}.pe.test";
    for (var i = 1; i <= count; i++)
    {
        var options = new SimulatedBmcOptions();
        configuration.Bind(options);
        options.Port = basePort == 0 ? 0 : basePort + i - 1;
        options.VcsimHost = string.Format(System.Globalization.CultureInfo.InvariantCulture, hostFormat, i);
        options.Name = options.VcsimHost;
        if (options.FingerprintFile is { Length: > 0 } file)
            options.FingerprintFile = $"{file}.{i}";
        bmcs.Add(options);
    }
}

var servers = new List<BmcServer>();
var stop = new TaskCompletionSource();
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.TrySetResult(); });
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.TrySetResult(); });
try
{
    foreach (var options in bmcs)
    {
        var server = await BmcServer.StartAsync(options, logging => logging.AddConsole().SetMinimumLevel(LogLevel.Warning));
        servers.Add(server);
        // The line scripts and tests wait for; one per BMC.
        Console.WriteLine($"REDFISH_READY name={options.Name} url={server.BaseUrl} user={options.Username} " +
            $"fingerprint={server.Fingerprint ?? "-"} vcsimHost={options.VcsimHost ?? "-"} profile={server.Bmc.Profile.Key}");
    }
    await stop.Task;
}
finally
{
    foreach (var server in servers)
        await server.DisposeAsync();
}
return 0;
