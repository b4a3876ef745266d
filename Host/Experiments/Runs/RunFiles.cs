using System.Text;

namespace FedActors.Host.Runs;

/// <summary>
/// How a run directory's text files are written: rows are appended (a file is never truncated to be written again),
/// whole files are written aside and renamed over the old one, and a full disk becomes one
/// <see cref="DiskFullException"/> naming the file. A test substitutes a subclass whose <see cref="Open"/> runs out of
/// space on purpose.
/// </summary>
public class RunFiles
{
    /// <summary>The real file system.</summary>
    public static RunFiles Default { get; } = new();

    /// <summary>Opens <paramref name="path"/> for writing with <paramref name="mode"/> (<see cref="FileMode.Append"/> or <see cref="FileMode.Create"/>).</summary>
    /// <param name="path">The file.</param>
    /// <param name="mode">Append to it, or create it anew.</param>
    protected virtual Stream Open(string path, FileMode mode) => new FileStream(path, mode, FileAccess.Write, FileShare.Read);

    /// <summary>Appends <paramref name="text"/> (UTF-8) to <paramref name="path"/>, creating it if missing.</summary>
    /// <exception cref="DiskFullException">The disk (or the user's quota) is full; the file may end in a torn line.</exception>
    public void Append(string path, string text)
    {
        if (text.Length == 0) return;
        Guard(path, () =>
        {
            using var stream = Open(path, FileMode.Append);
            stream.Write(Encoding.UTF8.GetBytes(text));
        });
    }

    /// <summary>
    /// Replaces <paramref name="path"/> with <paramref name="text"/>: written to <c>path.tmp</c> and renamed over it, so a
    /// failure (a full disk, a killed process) leaves the old file whole, and no <c>.tmp</c> behind where it can delete it.
    /// </summary>
    /// <exception cref="DiskFullException">The disk (or the user's quota) is full; <paramref name="path"/> is as it was.</exception>
    public void WriteAtomically(string path, string text) => WriteAtomically(path, stream => stream.Write(Encoding.UTF8.GetBytes(text)));

    /// <summary>Replaces <paramref name="path"/> with what <paramref name="write"/> writes, as <see cref="WriteAtomically(string, string)"/> does.</summary>
    /// <exception cref="DiskFullException">The disk (or the user's quota) is full; <paramref name="path"/> is as it was.</exception>
    public void WriteAtomically(string path, Action<Stream> write)
    {
        var aside = path + ".tmp";
        Guard(path, () =>
        {
            try
            {
                using (var stream = Open(aside, FileMode.Create)) write(stream);
                File.Move(aside, path, overwrite: true);
            }
            catch
            {
                TryDelete(aside);
                throw;
            }
        });
    }

    /// <summary>A writer appending to <paramref name="path"/>, flushed after every write; a full disk throws <see cref="DiskFullException"/> from its writes.</summary>
    public StreamWriter OpenAppend(string path) =>
        new(new GuardedStream(Guard(path, () => Open(path, FileMode.Append)), path), new UTF8Encoding(false)) { AutoFlush = true };

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static void Guard(string path, Action write) => Guard(path, () => { write(); return 0; });

    private static T Guard<T>(string path, Func<T> write)
    {
        try { return write(); }
        catch (IOException e) when (e is not DiskFullException && DiskFullException.IsDiskFull(e)) { throw new DiskFullException(path, e); }
    }

    /// <summary>A stream whose writes turn a full disk into <see cref="DiskFullException"/>.</summary>
    private sealed class GuardedStream(Stream inner, string path) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() => Guard(path, inner.Flush);
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Guard(path, () => inner.Write(buffer, offset, count));
        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                try { inner.Dispose(); }
                catch (IOException e) when (DiskFullException.IsDiskFull(e)) { } // the write that failed already said so
            }
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// A run's file could not be written because the disk, or the user's quota, is full: the run stops with this one line
/// (exit 1) and, once space is freed, <c>fedactors run --resume</c> continues it.
/// </summary>
/// <param name="path">The file that could not be written.</param>
/// <param name="inner">The operating system's error.</param>
public sealed class DiskFullException(string path, IOException inner)
    : IOException($"disk full: cannot write {path} ({inner.Message.TrimEnd('.')})", inner)
{
    /// <summary>The file that could not be written.</summary>
    public string FilePath { get; } = path;

    /// <summary>Whether <paramref name="e"/> (or an exception inside it) says the disk or the quota is full: ENOSPC, EDQUOT, or Windows' disk-full codes.</summary>
    public static bool IsDiskFull(Exception? e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is DiskFullException) return true;
        return FedActors.Actors.Rounds.StorageErrors.IsFull(e);
    }
}
