using System.Text.Json;
using System.Text.Json.Serialization;
using PowerEvents.AlarmEvaluator.Power;
using PowerEvents.Contracts;
using Xunit;

namespace PowerEvents.PowerSaga.Tests;

public sealed class RunOutcomeUnitTests
{
    // As the saga row's header is written (PowerDbContext.Json).
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new RunOutcomeJsonConverter(), new JsonStringEnumConverter() } };

    public static TheoryData<Enum> ActuatorOutcomes() =>
    [
        .. Enum.GetValues<VmShutdownOutcome>().Cast<Enum>(), .. Enum.GetValues<StepOutcome>().Cast<Enum>(),
        .. Enum.GetValues<PowerOnOutcome>().Cast<Enum>(), .. Enum.GetValues<VsanResyncOutcome>().Cast<Enum>(),
    ];

    /// <summary>A new outcome in a contract must have its history outcome, or recording it would throw.</summary>
    [Theory]
    [MemberData(nameof(ActuatorOutcomes))]
    public void Every_actuator_outcome_is_a_history_outcome_by_the_same_name(Enum outcome) =>
        Assert.Equal(outcome.ToString(), Enum.Parse<RunOutcome>(outcome.ToString()).ToString());

    [Fact]
    public void A_step_without_outcome_is_stored_as_before_outcomes_were_an_enum()
    {
        var step = new ClusterStep { Kind = ClusterStep.VsanResync };
        var json = JsonSerializer.Serialize(step, Json);
        Assert.Contains("\"outcome\":\"\"", json, StringComparison.Ordinal);
        Assert.Equal(RunOutcome.None, JsonSerializer.Deserialize<ClusterStep>(json, Json)!.Outcome);

        step.Outcome = RunOutcomes.Of(VsanResyncOutcome.StillResyncing);
        Assert.Equal(RunOutcome.StillResyncing, JsonSerializer.Deserialize<ClusterStep>(JsonSerializer.Serialize(step, Json), Json)!.Outcome);
        Assert.Equal(RunOutcome.Forced, RunOutcomes.Parse("Forced"));
    }
}
