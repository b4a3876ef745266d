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

    /// <summary>What a spec skipped for want of data says; .ci/run fails a run whose output carries it.</summary>
    public const string SkipMarker = "shared data missing";

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    /// <summary>
    /// Why a spec that reads <paramref name="relativePaths"/> cannot run here, naming the first one missing and
    /// how to get it; null when all are present.
    /// </summary>
    public static string? Missing(IEnumerable<string> relativePaths)
    {
        foreach (var relative in relativePaths)
        {
            var path = PathOf(relative);
            if (!File.Exists(path) && !Directory.Exists(path))
                return $"{SkipMarker}: {path} does not exist. The specs that read real data expect the project's shared " +
                    "folder beside the clone (../shared/data, see its README for the sets and their sources); CI always has it.";
        }
        return null;
    }

    private static string LocateRepository()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "FedActors.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException($"No FedActors.sln above {AppContext.BaseDirectory}; cannot locate ../shared/data.");
    }
}

/// <summary>A fact that reads ../shared/data: skipped, naming what is missing, where that data is absent.</summary>
public sealed class SharedDataFactAttribute : FactAttribute
{
    /// <param name="relativePaths">Files or folders under ../shared/data the spec reads.</param>
    public SharedDataFactAttribute(params string[] relativePaths)
    {
        if (SharedData.Missing(relativePaths) is { } why) Skip = why;
    }
}

/// <summary>A theory that reads ../shared/data: skipped, naming what is missing, where that data is absent.</summary>
public sealed class SharedDataTheoryAttribute : TheoryAttribute
{
    /// <param name="relativePaths">Files or folders under ../shared/data the spec reads.</param>
    public SharedDataTheoryAttribute(params string[] relativePaths)
    {
        if (SharedData.Missing(relativePaths) is { } why) Skip = why;
    }
}
