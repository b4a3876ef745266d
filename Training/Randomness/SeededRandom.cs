namespace FedActors.Training.Randomness;

/// <summary>
/// xoshiro256** generator whose whole state is four words, so a hospital's RNG position
/// can be snapshotted, shipped and restored exactly (System.Random cannot be).
/// Child streams are derived by name, so adding a consumer never shifts another's draws.
/// </summary>
public sealed class SeededRandom
{
    private ulong _s0, _s1, _s2, _s3;

    /// <summary>Creates a generator whose state is expanded from <paramref name="seed"/> by SplitMix64; equal seeds give equal streams.</summary>
    /// <param name="seed">Any 64-bit value, zero included.</param>
    public SeededRandom(ulong seed)
    {
        var sm = seed;
        _s0 = SplitMix(ref sm); _s1 = SplitMix(ref sm); _s2 = SplitMix(ref sm); _s3 = SplitMix(ref sm);
    }

    private SeededRandom(ulong[] state) => (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);

    /// <summary>Restores a generator at exactly the position a <see cref="State"/> snapshot was taken.</summary>
    /// <param name="state">The four state words from <see cref="State"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="state"/> does not have four words.</exception>
    public static SeededRandom FromState(IReadOnlyList<ulong> state)
    {
        if (state.Count != 4) throw new ArgumentException($"RNG state must have 4 words, found {state.Count}.", nameof(state));
        return new SeededRandom(state.ToArray());
    }

    /// <summary>The generator's full state (restorable with <see cref="FromState"/>).</summary>
    public ulong[] State => [_s0, _s1, _s2, _s3];

    /// <summary>A seed for an independent stream named <paramref name="name"/> under <paramref name="seed"/>.</summary>
    public static ulong DeriveSeed(ulong seed, string name)
    {
        // FNV-1a over the name, mixed with the parent seed through SplitMix.
        ulong h = 14695981039346656037UL;
        foreach (var ch in name) { h ^= ch; h *= 1099511628211UL; }
        var x = seed ^ h;
        return SplitMix(ref x);
    }

    /// <summary>A new generator for the independent stream named <paramref name="name"/> under <paramref name="seed"/> (see <see cref="DeriveSeed"/>).</summary>
    /// <param name="seed">The parent seed, typically the experiment's.</param>
    /// <param name="name">The stream's name, e.g. a site id plus a purpose.</param>
    public static SeededRandom Derive(ulong seed, string name) => new(DeriveSeed(seed, name));

    /// <summary>The next 64 raw bits of the stream; every other draw is built on this.</summary>
    public ulong NextUInt64()
    {
        var result = RotL(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotL(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="lo"/>, <paramref name="hi"/>); one draw.</summary>
    /// <param name="lo">Inclusive lower bound.</param>
    /// <param name="hi">Exclusive upper bound.</param>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "must be positive");
        return (int)(NextDouble() * n);
    }

    /// <summary>A standard normal value (mean 0, variance 1) by Box–Muller, using two uniform draws per call.</summary>
    public double NextGaussian()
    {
        // Box–Muller; one value per call keeps the state simple to snapshot.
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Gamma(shape, 1) by Marsaglia–Tsang (Dirichlet draws are built on it).</summary>
    public double NextGamma(double shape)
    {
        if (shape < 1) return NextGamma(shape + 1) * Math.Pow(NextDouble(), 1.0 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do { x = NextGaussian(); v = 1 + c * x; } while (v <= 0);
            v = v * v * v;
            var u = NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher–Yates); every order is equally likely.</summary>
    /// <param name="items">The list to reorder.</param>
    /// <typeparam name="T">Element type.</typeparam>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A uniformly random permutation of 0 .. <paramref name="n"/> − 1.</summary>
    /// <param name="n">Length of the permutation; 0 gives an empty array.</param>
    public int[] Permutation(int n)
    {
        var p = Enumerable.Range(0, n).ToArray();
        Shuffle(p);
        return p;
    }

    private static ulong RotL(ulong x, int k) => (x << k) | (x >> (64 - k));

    private static ulong SplitMix(ref ulong x)
    {
        var z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
