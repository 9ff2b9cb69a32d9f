import TesseraCompiler
import TesseraIR

/// Where a graph value's bytes live on the device: the arena, an input buffer (by argument
/// position) or a weight buffer, with the byte range.
public struct VulkanRegion: Hashable, Sendable {
  /// Which device buffer.
  public enum Location: Hashable, Sendable {
    /// The plan's arena.
    case arena
    /// The buffer of the graph argument at this position.
    case input(Int)
    /// The buffer of this constant.
    case weights(ValueID)
  }

  /// Which buffer.
  public var location: Location
  /// First byte.
  public var offset: Int
  /// Bytes.
  public var size: Int

  /// Whether the two regions share a byte (empty regions share none).
  public func overlaps(_ other: VulkanRegion) -> Bool {
    location == other.location && offset < other.offset + other.size && other.offset < offset + size
  }
}

/// How a compiled plan's values map onto device buffers.
public enum VulkanPlanBinding {
  /// The region holding `value` (aliases resolved to their storage).
  public static func region(of value: ValueID, in plan: CompiledPlan) -> VulkanRegion {
    let storage = plan.memory.storage(of: value)
    let size = plan.graph.type(of: value).storageBytes ?? 0
    switch plan.memory.homes[storage] {
    case .arena(let offset)?: return VulkanRegion(location: .arena, offset: offset, size: size)
    case .input?:
      return VulkanRegion(location: .input(plan.graph.arguments.firstIndex(of: storage)!), offset: 0, size: size)
    default: return VulkanRegion(location: .weights(storage), offset: 0, size: size)
    }
  }

  /// Buffers of `call` whose bytes overlap another of its buffers (an in-place update), which
  /// the shader must treat as aliased.
  public static func aliasedBuffers(of call: KernelCall, in plan: CompiledPlan) -> Set<Int> {
    let regions = call.buffers.map { region(of: $0, in: plan) }
    return Set(
      regions.indices.filter { i in regions.indices.contains { j in j != i && regions[i].overlaps(regions[j]) } })
  }
}
