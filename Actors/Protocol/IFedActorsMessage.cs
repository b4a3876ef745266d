namespace FedActors.Actors.Protocol;

/// <summary>
/// Marker for every FedActors protocol message: the serializer binding names this
/// interface, so no protocol message ever falls back to the default serializer.
/// </summary>
public interface IFedActorsMessage;
