using CsCheck;
using FedActors.Actors.Faults;
using FedActors.Host.Configuration;

namespace FedActors.Tests.Host;

/// <summary>A fault plan written as HOCON reads back as the same plan: what lets a plan built in code survive in resolved.conf.</summary>
public sealed class FaultPlanHoconSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fedactors-faultplan-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Hospitals = ["hospital-01", "hospital-02", "hospital-03", "hospital-04"];

    private static readonly Gen<double> Probability = Gen.Double[0, 1];
    private static readonly Gen<int> Round = Gen.Int[1, 5];
    private static readonly Gen<string> Hospital = Gen.Int[0, 3].Select(i => Hospitals[i]);

    private static readonly Gen<FaultPlan> Plans =
        from dropoutProbability in Probability
        from dropoutStages in Gen.Enum<DropoutStage>().Array[1, 3]
        from hasDropout in Gen.Bool
        from drops in Gen.Select(Hospital, Round, Gen.Enum<DropoutStage>(), (h, r, s) => new ScriptedDrop(h, r, s)).Array[0, 3]
        from slows in Gen.Select(Hospital, Round, Gen.Double[1e-3, 1e3], (h, r, f) => new ScriptedSlowdown(h, r, f)).Array[0, 3]
        from workers in Gen.Select(Gen.Bool.Select(b => b ? "gpu-a" : "node \"b\""), Round, (n, r) => new ScriptedWorkerCrash(n, r)).Array[0, 2]
        from crashes in Round.Select(r => new ScriptedCoordinatorCrash(r)).Array[0, 2]
        from messages in Gen.Select(Gen.Enum<RoundMessage>(), Gen.Bool, Probability, Gen.Double[1e-3, 1e4],
            (m, lose, p, delay) => new MessageFault(m, lose, p, lose ? 0 : delay)).Array[0, 3]
        from corruptions in Gen.Select(Hospital, Round, Gen.Enum<Corruption>(), (h, r, c) => new ScriptedCorruption(h, r, c)).Array[0, 3]
        from malicious in Gen.Select(Hospital, Round, Gen.Enum<MaliceKind>(), Gen.Double[1e-3, 1e6], Gen.Bool, (h, r, k, x, negative) =>
            new ScriptedMalice(h, r, k, k switch { MaliceKind.Scaled => negative ? -x : x, MaliceKind.Noise => x, _ => 0 })).Array[0, 3]
        select new FaultPlan
        {
            Dropout = hasDropout && dropoutProbability > 0 ? new RandomDropout(dropoutProbability, dropoutStages) : null,
            Drops = drops, Slowdowns = slows, WorkerCrashes = workers, CoordinatorCrashes = crashes, Messages = messages, Corruptions = corruptions,
            Malicious = malicious,
        };

    [Fact]
    public void Should_read_back_every_plan_it_writes_as_the_same_plan()
    {
        var file = Path.Combine(_dir, "plan.conf");
        SeededProperty.ForAll(Plans, plan =>
        {
            File.WriteAllText(file, $"fedactors {{\n  data.hospitals = 4\n  rounds.count = 5\n  rounds.min-participants = 2\n  faults {{\n{FaultPlanHocon.Render(plan)}}}\n}}\n");
            var read = ExperimentConfig.Load(file, []).Coordinator.Faults;
            Assert.Equal(plan.Dropout?.Probability, read.Dropout?.Probability);
            Assert.Equal(plan.Dropout?.Stages ?? [], read.Dropout?.Stages ?? []);
            Assert.Equal(plan.Drops, read.Drops);
            Assert.Equal(plan.Slowdowns, read.Slowdowns);
            Assert.Equal(plan.WorkerCrashes, read.WorkerCrashes);
            Assert.Equal(plan.CoordinatorCrashes, read.CoordinatorCrashes);
            Assert.Equal(plan.Messages, read.Messages);
            Assert.Equal(plan.Corruptions, read.Corruptions);
            Assert.Equal(plan.Malicious, read.Malicious);
            Assert.Equal(FaultPlanHocon.Render(plan), FaultPlanHocon.Render(read));
        }, cases: 60, print: FaultPlanHocon.Render);
    }

    [Fact]
    public void Should_write_a_plan_with_nothing_in_it_as_no_dropout_and_no_events()
    {
        Assert.Equal("dropout.probability = 0\nevents = []\n", FaultPlanHocon.Render(FaultPlan.None));
    }
}
