namespace Multiproc.Actors.Actors;

/// <summary>
/// Marks the messages that cross between the caller and its worker processes; bound to Hyperion in
/// hocon/multiproc.conf so a user's rebinding of <c>System.Object</c> cannot change the wire protocol.
/// </summary>
internal interface IMultiprocMessage;
