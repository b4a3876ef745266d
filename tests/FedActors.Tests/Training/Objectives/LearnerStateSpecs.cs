using FedActors.Training.Experiments;
using FedActors.Training.Objectives;

namespace FedActors.Tests.Training.Objectives;

public class LearnerStateSpecs
{
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 1));

    private string HospitalId => _experiment.Sites.Sites[0].HospitalId;

    private static byte[] Save(ILocalLearner learner)
    {
        using var buffer = new MemoryStream();
        learner.SaveState(buffer);
        return buffer.ToArray();
    }

    private static void Load(ILocalLearner learner, byte[] state, string source = "spec-state") =>
        learner.LoadState(new MemoryStream(state, writable: false), source);

    /// <summary>State of a learner trained one round from the initial global.</summary>
    private byte[] OneRoundState()
    {
        using var learner = _experiment.CreateLearner(HospitalId);
        learner.LoadGlobal(_experiment.InitialGlobal());
        learner.Train(_experiment.Sites.Sites[0].Train);
        return Save(learner);
    }

    [Fact]
    public void Should_continue_bit_identically_after_saving_and_loading_into_a_fresh_learner()
    {
        var shard = _experiment.Sites.Sites[0].Train;
        var global = _experiment.InitialGlobal();
        using var a = _experiment.CreateLearner(HospitalId);
        a.LoadGlobal(global);
        a.Train(shard);
        var saved = Save(a);

        using var b = _experiment.CreateLearner(HospitalId);
        Load(b, saved);
        LocalStateAssert.Same(a.DescribeState(), b.DescribeState());
        Assert.Equal(saved, Save(b)); // nothing the format covers was left behind

        a.LoadGlobal(global);
        var roundA = a.Train(shard);
        b.LoadGlobal(global);
        var roundB = b.Train(shard);
        Assert.Equal(roundA.MeanLoss, roundB.MeanLoss);
        Assert.Equal(a.ExportWeights().ContentHash, b.ExportWeights().ContentHash);
        LocalStateAssert.Same(a.DescribeState(), b.DescribeState());

        // Without the loaded state, the same round from the same global comes out differently.
        using var fresh = _experiment.CreateLearner(HospitalId);
        fresh.LoadGlobal(global);
        fresh.Train(shard);
        Assert.NotEqual(a.ExportWeights().ContentHash, fresh.ExportWeights().ContentHash);
    }

    [Fact]
    public void Should_refuse_corrupted_state_naming_the_source()
    {
        var state = OneRoundState();
        state[state.Length / 2] ^= 0x20;
        using var learner = _experiment.CreateLearner(HospitalId);
        var e = Assert.Throws<InvalidDataException>(() => Load(learner, state, "snapshot of hospital-x"));
        Assert.Contains("snapshot of hospital-x", e.Message);
        Assert.Contains("checksum mismatch", e.Message);
    }

    [Fact]
    public void Should_refuse_truncated_state_naming_the_source_and_field()
    {
        var state = OneRoundState();
        using var learner = _experiment.CreateLearner(HospitalId);
        var e = Assert.Throws<InvalidDataException>(() => Load(learner, state[..^40], "snapshot of hospital-x"));
        Assert.Contains("snapshot of hospital-x", e.Message);
        Assert.Contains("truncated", e.Message);

        e = Assert.Throws<InvalidDataException>(() => Load(learner, state[..3]));
        Assert.Contains("'magic'", e.Message);
    }

    [Fact]
    public void Should_refuse_state_of_a_differently_shaped_learner_naming_the_field()
    {
        var state = OneRoundState();
        var bigger = new FederatedExperiment(TinyExperiment.Settings(hospitals: 1) with
        {
            MoCo = _experiment.Settings.MoCo with { QueueSize = 2 * _experiment.Settings.MoCo.QueueSize },
        });
        using var learner = bigger.CreateLearner(HospitalId);
        var e = Assert.Throws<InvalidDataException>(() => Load(learner, state));
        Assert.Contains("spec-state", e.Message);
        Assert.Contains("'queue shape'", e.Message);

        var wider = new FederatedExperiment(TinyExperiment.Settings(hospitals: 1) with { EncoderWidths = [8, 8, 16, 32] });
        using var other = wider.CreateLearner(HospitalId);
        e = Assert.Throws<InvalidDataException>(() => Load(other, state));
        Assert.Contains("'query weights'", e.Message);
    }

    [Fact]
    public void Should_refuse_bytes_that_are_not_learner_state()
    {
        using var learner = _experiment.CreateLearner(HospitalId);
        var e = Assert.Throws<InvalidDataException>(() => Load(learner, new byte[64]));
        Assert.Contains("not a FedActors learner state", e.Message);
    }
}
