import Synchronization

/// Something made from a constant operand at its first run and kept for the next ones: a
/// constant never changes, and its memory stays where it was for the plan's life. One entry,
/// keyed by the constant's address. The Winograd transform of constant weights
/// (``WinogradConvolution``) and a constant B packed once for the SGEMM (``GEMMPackedB``) are
/// kept this way.
final class ConstantCache<Value: AnyObject & Sendable>: Sendable {
  private let entry = Mutex<(address: UInt, value: Value)?>(nil)

  /// An empty cache.
  init() {}

  /// The value kept for the constant at `address`, made by `make` when there is none; nil when
  /// the cache holds another address's, or one that `fits` refuses (the caller then makes its
  /// own for this run alone).
  func value(
    for address: UnsafeRawPointer, fits: (Value) -> Bool = { _ in true }, make: () -> Value
  ) -> Value? {
    let key = UInt(bitPattern: address)
    return entry.withLock { entry in
      if let entry { return entry.address == key && fits(entry.value) ? entry.value : nil }
      let value = make()
      entry = (key, value)
      return value
    }
  }
}
