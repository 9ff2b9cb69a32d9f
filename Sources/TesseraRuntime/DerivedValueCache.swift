/// Values a device computed from its parameters alone (a weight dequantised and transposed, see
/// ``PlanRunner``), kept once per device for every graph that computes them: a model's prefill
/// and decode graphs share one copy. `Value` is what holds one: device memory for plan-based
/// devices (``DeviceMemoryCache``), host arrays for the reference evaluator.
///
/// An entry is found by what it computes (its key, naming the device tensors it reads by
/// identity) and holds the tensors weakly: it is current while each of them is alive and
/// unwritten since (``DeviceTensor/generation``), stale once one was written (recompute into
/// the same memory), and dropped with its memory once one of them is gone.
public final class DerivedValueCache<Value: Sendable>: Sendable {
  private struct Source {
    weak var tensor: DeviceTensor?
    var generation: Int
  }

  private struct Entry {
    var value: Value
    var sources: [Source]
  }

  private let entries = Locked<[String: Entry]>([:])

  /// An empty cache.
  public init() {}

  /// The value `key` computed from `sources`, and whether it holds their current bytes' result;
  /// `nil` when there is none.
  public func lookup(_ key: String, sources: [DeviceTensor]) -> (value: Value, current: Bool)? {
    entries.withLock { entries in
      guard let entry = entries[key], entry.sources.count == sources.count,
        zip(entry.sources, sources).allSatisfy({ $0.tensor === $1 })
      else { return nil }
      let current = zip(entry.sources, sources).allSatisfy { $0.generation == $1.generation }
      return (entry.value, current)
    }
  }

  /// Records that `value` is the value `key` computed from `sources` as they are now; drops the
  /// entries whose sources are gone.
  public func record(_ key: String, value: Value, sources: [DeviceTensor]) {
    entries.withLock { entries in
      entries = entries.filter { $0.value.sources.allSatisfy { $0.tensor != nil } }
      entries[key] = Entry(value: value, sources: sources.map { Source(tensor: $0, generation: $0.generation) })
    }
  }

  /// The sum of `size` over the kept values.
  public func total(_ size: (Value) -> Int) -> Int {
    entries.withLock { $0.values.reduce(0) { $0 + size($1.value) } }
  }
}

/// Weight-only results kept in device memory (``PlanBackend/derivedValues``).
public typealias DeviceMemoryCache = DerivedValueCache<any DeviceMemory>

extension DerivedValueCache where Value == any DeviceMemory {
  /// Device bytes the kept values hold.
  public var allocatedBytes: Int { total(\.allocatedBytes) }
}
