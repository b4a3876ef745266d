using CsCheck;

namespace FedActors.Tests;

/// <summary>
/// Runs a CsCheck property over a fixed sequence of cases, so the suite draws the same cases on every run.
/// </summary>
/// <remarks>
/// CsCheck's own <c>Sample</c> takes a seed for its first iteration only and draws the rest from a PCG seeded by
/// the clock, which would make a property's cases differ from run to run. Here every case comes from one PCG with a
/// fixed stream and seed; a case that fails is reported with its CsCheck seed (replay it alone with
/// <c>gen.Sample(assert, seed: "…", iter: 1)</c>), and CsCheck then shrinks from it to a smaller failing case whose
/// seed it prints too. Shrinking only runs once a fixed case has already failed, so it cannot make a passing run fail.
/// </remarks>
internal static class SeededProperty
{
    /// <summary>The PCG seed of every property unless a spec gives its own.</summary>
    public const ulong DefaultSeed = 20_240_917;

    /// <summary>Checks <paramref name="assert"/> on <paramref name="cases"/> values of <paramref name="gen"/> drawn from a PCG seeded with <paramref name="seed"/>.</summary>
    /// <param name="print">How a failing case is shown (default CsCheck's <c>Check.Print</c>).</param>
    public static void ForAll<T>(Gen<T> gen, Action<T> assert, int cases = 100, ulong seed = DefaultSeed, Func<T, string>? print = null)
    {
        var pcg = new PCG(stream: 1, seed);
        for (var i = 0; i < cases; i++)
        {
            // The seed string of this state replays exactly this case.
            var caseSeed = pcg.ToString();
            var value = gen.Generate(pcg, null, out _);
            try { assert(value); }
            catch (Exception e)
            {
                var shrunk = "";
                try { gen.Sample(assert, seed: caseSeed, iter: 500, threads: 1, print: print); }
                catch (CsCheckException c) { shrunk = $"\nCsCheck's shrink from it: {c.Message}"; }
                throw new Xunit.Sdk.XunitException(
                    $"Property failed on case {i} of {cases} (CsCheck seed \"{caseSeed}\", PCG stream 1, seed {seed}): {(print is null ? Check.Print(value) : print(value))}\n{e.Message}{shrunk}");
            }
        }
    }
}
