namespace FedActors.Tests;

/// <summary>
/// The read-only real data sets, which live beside the repository in ../shared/data
/// (relative to the directory holding FedActors.sln), never inside it.
/// </summary>
public static class SharedData
{
    /// <summary>The repository root (the directory holding FedActors.sln).</summary>
    public static string Repository { get; } = LocateRepository();

    public static string Root { get; } = Path.GetFullPath(Path.Combine(Repository, "..", "shared", "data"));

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    private static string LocateRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FedActors.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"No FedActors.sln above {AppContext.BaseDirectory}; cannot locate ../shared/data.");
    }
}
