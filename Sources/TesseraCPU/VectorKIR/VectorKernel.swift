import TesseraCompiler
import TesseraIR
import TesseraRuntime

/// A KIR kernel compiled once into a program of closures that each run one instruction for a
/// whole batch of work-items (vectorised over the work-items); the KIR interpreter stays the
/// oracle. A batch is one workgroup in lockstep when the kernel uses shared memory or barriers,
/// otherwise as many whole workgroups as fill ``targetLanes`` lanes. Batches are spread over the
/// thread pool, each thread with its own registers.
public final class VectorKernel: Sendable {
  /// The kernel.
  public let kernel: Kernel
  /// Lanes a batch aims for when workgroups are independent.
  static let targetLanes = 512
  private let layout: VectorLayout
  private let program: VectorStep
  private let scalarNames: [String]

  /// Compiles `kernel`.
  public init(_ kernel: Kernel) {
    self.kernel = kernel
    let groupSize = kernel.workgroupSize.reduce(1, *)
    let independent = kernel.shared.isEmpty && !Self.contains(kernel.body) { $0 == .barrier }
    let lanes = independent ? Swift.max(1, Self.targetLanes / groupSize) * groupSize : groupSize
    var floats = 0, integers = 0
    func place(_ type: KType) -> Int {
      let size = lanes * type.lanes
      if type.scalar.isFloatingPoint {
        defer { floats += size }
        return floats
      }
      defer { integers += size }
      return integers
    }
    let values = kernel.valueTypes.map(place)
    let variables = kernel.variableTypes.map(place)
    layout = VectorLayout(
      lanes: lanes, groupSize: groupSize, valueOffsets: values, variableOffsets: variables, floatCount: floats,
      integerCount: integers, maskDepth: Self.depth(kernel.body) + 1)
    scalarNames = kernel.scalars.map(\.name)
    let compiler = VectorCompiler(
      kernel: kernel, layout: layout,
      scalarIndex: Dictionary(uniqueKeysWithValues: kernel.scalars.enumerated().map { ($1.name, $0) }))
    program = VectorCompiler.sequence(compiler.compile(kernel.body, depth: 0))
  }

  /// Runs the whole launch over `buffers` (in the kernel's parameter order) with named scalars.
  public func run(
    buffers: [KernelBufferBinding], scalars: [String: Double], pool: CPUThreadPool = .shared
  ) throws(DeviceError) {
    guard buffers.count == kernel.buffers.count else {
      throw .kernelFailed(
        kernel: kernel.name, message: "\(buffers.count) buffers given, it takes \(kernel.buffers.count)")
    }
    var values: [Double] = []
    for name in scalarNames {
      guard let value = scalars[name] else {
        throw .kernelFailed(kernel: kernel.name, message: "no value for $\(name)")
      }
      values.append(value)
    }
    let groupCounts = kernel.groupCounts(scalars)
    let totalGroups = groupCounts.reduce(1, *)
    let groupsPerBatch = layout.lanes / layout.groupSize
    let batches = (totalGroups + groupsPerBatch - 1) / groupsPerBatch
    let work = totalGroups * layout.groupSize
    let parts = work < 4096 ? 1 : Swift.min(pool.threads, batches)
    let failure = FaultBox()
    let (layout, program, kernel, scalarValues) = (layout, program, self.kernel, values)
    CPUThreadPool(threads: parts).run(parts: parts) { part in
      let context = VectorContext(
        layout: layout, kernel: kernel, buffers: buffers, scalars: scalarValues, groupCounts: groupCounts)
      let partial = context.maskBuffer(layout.maskDepth)
      for batch in (batches * part / parts)..<(batches * (part + 1) / parts) {
        context.firstGroup = batch * groupsPerBatch
        let liveLanes = Swift.min(groupsPerBatch, totalGroups - context.firstGroup) * layout.groupSize
        for lane in 0..<layout.lanes { partial[lane] = lane < liveLanes }
        do throws(VectorFault) {
          try program(context, VectorMask(bits: liveLanes == layout.lanes ? nil : partial))
        } catch {
          failure.record(error.detail)
          return
        }
      }
    }
    if let detail = failure.first { throw .kernelFailed(kernel: kernel.name, message: detail) }
  }

  private static func contains(_ body: [KInstruction], where predicate: (KInstruction) -> Bool) -> Bool {
    body.contains { instruction in
      if predicate(instruction) { return true }
      switch instruction {
      case .loop(_, _, _, _, let inner): return contains(inner, where: predicate)
      case .conditional(_, let then, let otherwise):
        return contains(then, where: predicate) || contains(otherwise, where: predicate)
      default: return false
      }
    }
  }

  private static func depth(_ body: [KInstruction]) -> Int {
    body.map { instruction in
      switch instruction {
      case .loop(_, _, _, _, let inner): 1 + depth(inner)
      case .conditional(_, let then, let otherwise): 1 + Swift.max(depth(then), depth(otherwise))
      default: 0
      }
    }.max() ?? 0
  }
}

/// The first fault any thread met.
private final class FaultBox: Sendable {
  private let detail = Locked<String?>(nil)
  func record(_ text: String) { detail.withLock { $0 = $0 ?? text } }
  var first: String? { detail.withLock { $0 } }
}
