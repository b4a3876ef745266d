using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace FedActors.Tests;

/// <summary>
/// Guards the banned-symbol lists that Microsoft.CodeAnalysis.BannedApiAnalyzers enforces (RS0030, an error).
/// The analyzer is silent about a line that names no symbol: a typo, a wrong parameter type or an overload that
/// a library upgrade removed bans nothing and the build stays green. So each line's documentation-comment ID is
/// resolved here against the assemblies the solution builds with, by IDs generated from reflection the way the
/// compiler writes them; and every TorchSharp method that takes a Generator must be on the list, so a new draw
/// overload in a TorchSharp upgrade fails this spec instead of slipping past the ban.
/// </summary>
public class BannedSymbolsSpecs
{
    private static readonly string[] Lists = ["BannedSymbols.txt", "tests/BannedSymbols.txt", "Training/BannedSymbols.txt"];

    private sealed record Entry(string File, int Line, string Id, string Message);

    private static IEnumerable<Entry> Entries(string list)
    {
        var lines = File.ReadAllLines(Path.Combine(SharedData.Repository, list));
        for (var i = 0; i < lines.Length; i++)
        {
            // The analyzer's own reading: '//' starts a comment, the first ';' ends the ID.
            var comment = lines[i].IndexOf("//", StringComparison.Ordinal);
            var text = (comment < 0 ? lines[i] : lines[i][..comment]).Trim();
            if (text.Length == 0) continue;
            var semicolon = text.IndexOf(';');
            yield return semicolon < 0
                ? new Entry(list, i + 1, text, "")
                : new Entry(list, i + 1, text[..semicolon].Trim(), text[(semicolon + 1)..].Trim());
        }
    }

    public static TheoryData<string> ListNames => [.. Lists];

    [Theory]
    [MemberData(nameof(ListNames))]
    public void Should_name_an_existing_symbol_on_every_line(string list)
    {
        var unresolved = Entries(list).Where(e => !Resolves(e.Id)).Select(e => $"{e.File}:{e.Line}: {e.Id}").ToList();
        Assert.True(unresolved.Count == 0, "These entries name no symbol, so they ban nothing:\n" + string.Join("\n", unresolved));
    }

    [Theory]
    [MemberData(nameof(ListNames))]
    public void Should_say_what_to_use_instead_on_every_line(string list) =>
        Assert.All(Entries(list), e => Assert.False(string.IsNullOrWhiteSpace(e.Message), $"{e.File}:{e.Line}: {e.Id} has no message"));

    [Fact]
    public void Should_ban_every_TorchSharp_method_that_takes_a_generator()
    {
        // The Generator parameter is optional everywhere, so each of these draws from torch's global generator
        // when a caller leaves it out; only TorchDraws may call them.
        var banned = Entries("BannedSymbols.txt").Select(e => e.Id).ToHashSet();
        var missing = TorchSharpMethods()
            .Where(m => m.Parameters.Any(p => p.ParameterType == typeof(Generator)))
            .Select(m => m.Id)
            .Where(id => !banned.Contains(id))
            .Order()
            .ToList();
        Assert.True(missing.Count == 0, "TorchSharp draws missing from BannedSymbols.txt:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void Should_justify_every_suppression_of_a_ban()
    {
        var bare = new List<string>();
        foreach (var project in new[] { "Training", "Actors", "Host", "tests" })
            foreach (var file in Directory.EnumerateFiles(Path.Combine(SharedData.Repository, project), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
                var lines = File.ReadAllLines(file);
                for (var i = 0; i < lines.Length; i++)
                    if (Regex.IsMatch(lines[i], @"#pragma\s+warning\s+disable\s+RS0030(?!.*//\s*\S)"))
                        bare.Add($"{Path.GetRelativePath(SharedData.Repository, file)}:{i + 1}");
            }
        Assert.True(bare.Count == 0, "RS0030 suppressed without a '// why':\n" + string.Join("\n", bare));
    }

    // ---- Documentation-comment IDs from reflection (C# spec, "ID string format").

    private static readonly Assembly[] Searched = [typeof(object).Assembly, typeof(TorchSharp.torch).Assembly];

    private static bool Resolves(string id)
    {
        if (id.Length < 3 || id[1] != ':') return false;
        var kind = id[0];
        var head = id.IndexOf('(') is var open and >= 0 ? id[2..open] : id[2..];
        var dot = head.LastIndexOf('.');
        if (dot < 0) return false;
        var typeName = head[..dot];
        var memberName = Regex.Replace(head[(dot + 1)..], "``\\d+$", "");
        foreach (var type in CandidateTypes(typeName))
        {
            var members = kind switch
            {
                'M' when memberName == "#ctor" => type.GetConstructors(BindingFlags.Public | BindingFlags.Instance).Select(c => MemberId(c, c.GetParameters())),
                'M' => type.GetMethods(Everything).Where(m => m.Name == memberName).Select(m => MemberId(m, Parameters(m))),
                'P' => type.GetProperties(Everything).Where(p => p.Name == memberName).Select(p => $"P:{TypeId(type)}.{p.Name}"),
                'F' => type.GetFields(Everything).Where(f => f.Name == memberName).Select(f => $"F:{TypeId(type)}.{f.Name}"),
                _ => [],
            };
            if (members.Contains(id)) return true;
        }
        return false;
    }

    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;

    /// <summary>"A.B.C" may be namespace A.B with type C, or namespace A with type B and nested type C, and so on.</summary>
    private static IEnumerable<Type> CandidateTypes(string dotted)
    {
        var parts = dotted.Split('.');
        for (var nested = 0; nested < parts.Length; nested++)
        {
            var name = string.Join('.', parts[..(parts.Length - nested)]) + string.Concat(parts[(parts.Length - nested)..].Select(p => "+" + p));
            foreach (var assembly in Searched)
                if (assembly.GetType(name) is { } type) yield return type;
        }
    }

    private sealed record Method(string Id, ParameterInfo[] Parameters);

    private static IEnumerable<Method> TorchSharpMethods()
    {
        foreach (var type in typeof(TorchSharp.torch).Assembly.GetExportedTypes())
            foreach (var method in type.GetMethods(Everything))
                if (Parameters(method) is { } parameters)
                    yield return new Method(MemberId(method, parameters), parameters);
    }

    /// <summary>A method's parameters, or none where a parameter's type lives in an assembly this process lacks.</summary>
    private static ParameterInfo[] Parameters(MethodInfo method)
    {
        try { return method.GetParameters(); }
        catch (FileNotFoundException) { return []; }
    }

    private static string MemberId(MethodBase method, ParameterInfo[] parameters)
    {
        var id = new StringBuilder("M:").Append(TypeId(method.DeclaringType!)).Append('.').Append(method.IsConstructor ? "#ctor" : method.Name);
        if (method.IsGenericMethodDefinition) id.Append("``").Append(method.GetGenericArguments().Length);
        if (parameters.Length > 0) id.Append('(').AppendJoin(',', parameters.Select(p => ParameterTypeId(p.ParameterType))).Append(')');
        return id.ToString();
    }

    private static string TypeId(Type type) =>
        type.DeclaringType is { } outer ? $"{TypeId(outer)}.{type.Name}" : $"{type.Namespace}.{type.Name}";

    private static string ParameterTypeId(Type type)
    {
        if (type.IsByRef) return ParameterTypeId(type.GetElementType()!) + "@";
        if (type.IsArray) return ParameterTypeId(type.GetElementType()!) + "[]";
        if (type.IsPointer) return ParameterTypeId(type.GetElementType()!) + "*";
        if (type.IsGenericParameter) return (type.DeclaringMethod is null ? "`" : "``") + type.GenericParameterPosition;
        if (!type.IsGenericType) return TypeId(type);
        var definition = TypeId(type.GetGenericTypeDefinition());
        return definition[..definition.LastIndexOf('`')] + "{" + string.Join(",", type.GetGenericArguments().Select(ParameterTypeId)) + "}";
    }
}
