/// The owner of memory-mapped, read-only file bytes that tensors view (``Tensor/viewOwner``).
/// Its pages can be handed back to the operating system: they hold nothing the file does not,
/// and the next read maps them in again. A device that has copied what it needs out of a view
/// (a repacked weight layout) calls ``releasePages(in:)`` so the process does not hold both.
public protocol FileBackedMemory: AnyObject, Sendable {
  /// Drops the pages that hold `range` (a part of this owner's bytes) from the process's
  /// resident memory, those it shares with neighbouring bytes included; every byte stays
  /// readable and unchanged.
  func releasePages(in range: UnsafeRawBufferPointer)
}
