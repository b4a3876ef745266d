namespace FedActors.Actors.Rounds;

/// <summary>What a failed write says about the storage it went to.</summary>
public static class StorageErrors
{
    private const int Enospc = 28, Edquot = 122; // Linux errno values, which .NET's IOException carries as its HResult
    private const int WindowsDiskFull = unchecked((int)0x80070070), WindowsHandleDiskFull = unchecked((int)0x80070027);

    /// <summary>Whether <paramref name="e"/> (or an exception inside it) says the disk or the quota is full: ENOSPC, EDQUOT, or Windows' disk-full codes.</summary>
    /// <param name="e">The write's exception, or null.</param>
    public static bool IsFull(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is IOException && e.HResult is Enospc or Edquot or WindowsDiskFull or WindowsHandleDiskFull)
                return true;
        return false;
    }
}
