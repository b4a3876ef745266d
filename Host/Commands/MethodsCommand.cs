using FedActors.Training.Methods;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors methods</c>: every registered method, what it needs and how it is judged, and its keys with type, default and range.</summary>
public static class MethodsCommand
{
    /// <summary>Writes <paramref name="methods"/>' listing to <paramref name="output"/>.</summary>
    public static int Execute(MethodRegistry methods, TextWriter output)
    {
        foreach (var method in methods.Methods)
        {
            output.WriteLine($"{method.Name}: {method.Summary}");
            var encoder = method.Encoder is null ? "" : $", model.encoder = {method.Encoder}";
            output.WriteLine($"  data: {Data(method.Data)}{encoder}; judged by: {Evaluations(method.Evaluations)}");
            foreach (var key in method.Keys)
                output.WriteLine($"  {key.Name} ({key.Type}, default {key.DefaultText}, {key.Range}): {key.Description}");
        }
        return 0;
    }

    private static string Data(MethodData data) => data switch
    {
        MethodData.Volumes => "volumes (slices tagged with their partition)",
        MethodData.LabelledImages => "labelled 2D images (classification)",
        _ => "images or volumes",
    };

    private static string Evaluations(MethodEvaluations evaluations)
    {
        (MethodEvaluations Flag, string Name)[] names =
        [
            (MethodEvaluations.LinearProbe, "linear probe"), (MethodEvaluations.FineTune, "fine-tune"),
            (MethodEvaluations.Segmentation, "segmentation fine-tune"), (MethodEvaluations.GlobalClassifier, "global classifier"),
        ];
        var judged = names.Where(n => evaluations.HasFlag(n.Flag)).Select(n => n.Name).ToList();
        return judged.Count == 0 ? "nothing (no encoder to judge)" : string.Join(", ", judged);
    }
}
