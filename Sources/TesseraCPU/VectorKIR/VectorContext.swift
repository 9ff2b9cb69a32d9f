import TesseraCompiler
import TesseraIR

/// A fault while running a kernel on the vectorised executor (an out-of-bounds access).
struct VectorFault: Error {
  /// What went wrong.
  let detail: String
}

/// A compiled instruction: it updates the context's registers for the lanes of `mask`.
typealias VectorStep = @Sendable (VectorContext, VectorMask) throws(VectorFault) -> Void

/// The active lanes of a batch: `nil` bits mean every lane is active.
struct VectorMask {
  let bits: UnsafeMutablePointer<Bool>?

  /// Whether `lane` is active.
  @inline(__always) func active(_ lane: Int) -> Bool { bits?[lane] ?? true }
}

/// A global buffer as the executor sees it: raw bytes and their dtype.
public struct KernelBufferBinding: @unchecked Sendable {
  /// The first byte. `@unchecked Sendable`: the plan executor keeps the memory alive for the
  /// launch, and work-items of a launch write disjoint elements (the KIR contract).
  public let pointer: UnsafeMutableRawPointer
  /// Elements (for quantized buffers, dequantized elements).
  public let count: Int
  /// The element type.
  public let dtype: DType

  /// Binds `count` elements of `dtype` at `pointer`.
  public init(pointer: UnsafeMutableRawPointer, count: Int, dtype: DType) {
    self.pointer = pointer
    self.count = count
    self.dtype = dtype
  }
}

/// Where each value and variable lives in the register files, and how a batch is shaped.
struct VectorLayout: Sendable {
  /// Work-items per batch: several whole workgroups when the kernel has no shared memory.
  let lanes: Int
  /// Work-items per workgroup.
  let groupSize: Int
  /// Offset of each value in its register file (float file for floating types, integer file
  /// otherwise), in elements.
  let valueOffsets: [Int]
  /// Offset of each variable in its register file.
  let variableOffsets: [Int]
  /// Size of the float and integer files.
  let floatCount: Int, integerCount: Int
  /// Nesting depth of loops and conditionals (one mask buffer per level).
  let maskDepth: Int
}

/// One thread's registers, masks, shared memory and the current batch's position.
final class VectorContext {
  let floats: UnsafeMutablePointer<Float>
  let integers: UnsafeMutablePointer<Int64>
  let masks: UnsafeMutablePointer<Bool>
  let shared: [UnsafeMutablePointer<Double>]
  let buffers: [KernelBufferBinding]
  let scalars: [Double]
  let lanes: Int
  /// Linear index of the batch's first workgroup.
  var firstGroup = 0
  /// Workgroups per launch dimension.
  let groupCounts: [Int]

  init(layout: VectorLayout, kernel: Kernel, buffers: [KernelBufferBinding], scalars: [Double], groupCounts: [Int]) {
    lanes = layout.lanes
    floats = .allocate(capacity: Swift.max(1, layout.floatCount))
    floats.initialize(repeating: 0, count: Swift.max(1, layout.floatCount))
    integers = .allocate(capacity: Swift.max(1, layout.integerCount))
    integers.initialize(repeating: 0, count: Swift.max(1, layout.integerCount))
    masks = .allocate(capacity: Swift.max(1, (layout.maskDepth + 1) * layout.lanes))
    masks.initialize(repeating: true, count: Swift.max(1, (layout.maskDepth + 1) * layout.lanes))
    shared = kernel.shared.map {
      let array = UnsafeMutablePointer<Double>.allocate(capacity: $0.count)
      array.initialize(repeating: 0, count: $0.count)
      return array
    }
    self.buffers = buffers
    self.scalars = scalars
    self.groupCounts = groupCounts
  }

  deinit {
    floats.deallocate()
    integers.deallocate()
    masks.deallocate()
    for array in shared { array.deallocate() }
  }

  /// The mask buffer for nesting level `depth`.
  @inline(__always) func maskBuffer(_ depth: Int) -> UnsafeMutablePointer<Bool> { masks + depth * lanes }
}
