/// What one device holds for a model session, as the device's store counts its allocations
/// (``TensorStore/allocatedBytes``), not as the process's resident memory does.
public struct ModelMemory: Sendable, Hashable {
  /// Bytes the device allocated for the weights, in the layout it keeps them in (the `cpu`
  /// device's repacked tiles, for one).
  public var weights: Int
  /// Bytes of weights the device reads in place from host memory (the mapped model file),
  /// allocating nothing for them; not part of ``total``.
  public var weightsReadInPlace: Int
  /// Bytes of the session's KV cache.
  public var cache: Int
  /// Every byte the device's store holds now (``TensorStore/allocatedBytes``).
  public var total: Int

  /// Counts of a device holding `total` bytes, `weights` of them for weights and `cache` for the
  /// KV cache, and reading `weightsReadInPlace` bytes of weights from host memory.
  public init(weights: Int, weightsReadInPlace: Int = 0, cache: Int, total: Int) {
    self.weights = weights
    self.weightsReadInPlace = weightsReadInPlace
    self.cache = cache
    self.total = total
  }

  /// The rest of ``total``: compiled graphs' arenas and constants, staging, and whatever else
  /// the store holds (0 if the parts add up to more, which a store that counts them never does).
  public var other: Int { Swift.max(total - weights - cache, 0) }
}
