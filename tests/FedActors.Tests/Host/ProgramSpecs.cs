namespace FedActors.Tests.Host;

public class ProgramSpecs
{
    [Fact]
    public async Task Should_exit_zero_for_a_valid_config_and_two_for_a_bad_one_or_bad_usage()
    {
        var good = Path.GetTempFileName();
        var bad = Path.GetTempFileName();
        File.WriteAllText(good, "fedactors.rounds.count = 3");
        File.WriteAllText(bad, "fedactors.rounds.cuont = 3");
        try
        {
            Assert.Equal(FedActors.Host.Program.Ok, await FedActors.Host.Program.Main(["validate", good]));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["validate", bad]));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["validate", good, "--set", "rounds.count=zero"]));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["frobnicate"]));
            Assert.Equal(FedActors.Host.Program.UsageError, await FedActors.Host.Program.Main(["node", "--roles", "chef"]));
        }
        finally
        {
            File.Delete(good);
            File.Delete(bad);
        }
    }
}
