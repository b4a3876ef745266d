using FedActors.Training.Data;
using FedActors.Training.Randomness;

namespace FedActors.Training.Experiments;

/// <summary>One hospital's data: its scanner and its train and test images.</summary>
public sealed record SiteData(string HospitalId, ScannerProfile Scanner, ImageShard Train, ImageShard Test);

/// <summary>
/// Site-shifted synthetic chest radiographs for every hospital of an experiment, each
/// site drawn from its own named seed stream (so adding a site never changes another).
/// </summary>
public sealed class SyntheticSites
{
    private SyntheticSites(IReadOnlyList<SiteData> sites) => Sites = sites;

    public IReadOnlyList<SiteData> Sites { get; }

    public ImageShard PooledTrain() => ImageShard.Concat(Sites.Select(s => s.Train).ToList());

    public ImageShard PooledTest() => ImageShard.Concat(Sites.Select(s => s.Test).ToList());

    public static SyntheticSites Generate(ExperimentSettings settings)
    {
        var sites = Enumerable.Range(0, settings.Hospitals).Select(i =>
        {
            var id = ExperimentSettings.HospitalId(i);
            var scanner = ScannerProfile.Draw(SeededRandom.Derive(settings.Seed, $"{id}/scanner"), settings.SiteShift);
            var train = SyntheticChestRadiographs.Generate(settings.TrainImagesPerHospital, settings.ImageSize, scanner,
                SeededRandom.Derive(settings.Seed, $"{id}/train"), settings.Classes);
            var test = SyntheticChestRadiographs.Generate(settings.TestImagesPerHospital, settings.ImageSize, scanner,
                SeededRandom.Derive(settings.Seed, $"{id}/test"), settings.Classes);
            return new SiteData(id, scanner, train, test);
        }).ToList();
        return new SyntheticSites(sites);
    }
}
