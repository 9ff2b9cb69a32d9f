import Foundation
import TesseraIR

/// Executes Kernel IR directly: the second oracle, used to test every target's code generation on
/// the same kernels.
///
/// Work-items of a workgroup run in lockstep, one instruction at a time, with a mask for the
/// items whose control flow took another path. On top of computing, it checks what real hardware
/// leaves undefined: every access is bounds-checked; a barrier reached by only part of a group,
/// a shared-memory element read in the same barrier interval by another work-item than the one
/// that wrote it, a shared element read before any write, and two work-items writing (or one
/// reading what another wrote to) the same global element are faults.
///
/// Values are held as `Double` and rounded to their type after every instruction (f32, f16, bf16
/// rounding; integer wrapping); i64 values beyond 2^53 are not exact.
public enum KIRInterpreter {
  /// Runs `kernel` over its whole launch. `buffers` are in parameter order (their dtypes must
  /// match); returns every buffer after the run (written ones updated).
  public static func run(_ kernel: Kernel, buffers: [Tensor], scalars: [String: Double]) throws(KIRError) -> [Tensor] {
    guard buffers.count == kernel.buffers.count else {
      throw .fault(
        kernel: kernel.name, detail: "\(buffers.count) buffers given, the kernel takes \(kernel.buffers.count)")
    }
    for (parameter, tensor) in zip(kernel.buffers, buffers) where parameter.dtype != tensor.dtype {
      throw .fault(kernel: kernel.name, detail: "buffer \(parameter.name) is \(parameter.dtype), given \(tensor.dtype)")
    }
    for scalar in kernel.scalars where scalars[scalar.name] == nil {
      throw .fault(kernel: kernel.name, detail: "no value for scalar $\(scalar.name)")
    }
    var machine = Machine(kernel: kernel, buffers: buffers, scalars: scalars)
    try machine.runAllGroups()
    return machine.resultTensors()
  }
}

/// One launch's state: global memory and the per-group register file.
private struct Machine {
  let kernel: Kernel
  let scalars: [String: Double]
  var memory: [[Double]]
  var quantized: [[Float]?]
  var writers: [[Int32]]  // per global element: work-item that wrote it, or -1
  let groupSize: Int
  let groupCounts: [Int]

  // Per-group state.
  var values: [[Double]] = []
  var variables: [[Double]] = []
  var shared: [[Double]] = []
  var sharedWriter: [[Int32]] = []  // lane that wrote in this barrier interval, -1 none, -2 earlier interval
  var groupIndex: [Int] = []
  var linearGroup = 0

  init(kernel: Kernel, buffers: [Tensor], scalars: [String: Double]) {
    self.kernel = kernel
    self.scalars = scalars
    memory = buffers.map { $0.dtype.isQuantized ? [] : $0.doubles }
    quantized = buffers.map {
      $0.dtype.isQuantized ? Quantization.dequantize($0.bytes, dtype: $0.dtype, count: $0.shape.count) : nil
    }
    writers = buffers.map { [Int32](repeating: -1, count: $0.dtype.isQuantized ? 0 : $0.shape.count) }
    groupSize = kernel.workgroupSize.reduce(1, *)
    groupCounts = kernel.groupCounts(scalars)
  }

  func resultTensors() -> [Tensor] {
    kernel.buffers.indices.map { index in
      let parameter = kernel.buffers[index]
      if parameter.dtype.isQuantized { return Tensor(floats: [], shape: [0]) }
      return Tensor(memory[index], shape: [memory[index].count], dtype: parameter.dtype)
    }
  }

  func fault(_ detail: String) -> KIRError { .fault(kernel: kernel.name, detail: detail) }

  mutating func runAllGroups() throws(KIRError) {
    let total = groupCounts.reduce(1, *)
    for linear in 0..<total {
      var rest = linear
      groupIndex = groupCounts.map { count in
        defer { rest /= count }
        return rest % count
      }
      linearGroup = linear
      values = kernel.valueTypes.map { [Double](repeating: 0, count: groupSize * $0.lanes) }
      variables = kernel.variableTypes.map { [Double](repeating: 0, count: groupSize * $0.lanes) }
      shared = kernel.shared.map { [Double](repeating: 0, count: $0.count) }
      sharedWriter = kernel.shared.map { [Int32](repeating: -1, count: $0.count) }
      try execute(kernel.body, mask: [Bool](repeating: true, count: groupSize))
    }
  }

  /// The id of a work-item in the whole launch, for race reports.
  func workItem(_ lane: Int) -> Int32 { Int32(truncatingIfNeeded: linearGroup * groupSize + lane) }

  func localIndex(_ lane: Int, _ dimension: Int) -> Int {
    var rest = lane
    for d in 0..<dimension { rest /= kernel.workgroupSize[d] }
    return rest % kernel.workgroupSize[dimension]
  }

  func type(_ value: KValue) -> KType { kernel.valueTypes[value.id] }

  /// Rounds to what `dtype` holds.
  func round(_ value: Double, _ dtype: DType) -> Double {
    switch dtype {
    case .f32: return Double(Float(value))
    case .i64: return value.isFinite ? value.rounded(.towardZero) : 0
    case .bool: return value != 0 ? 1 : 0
    default: return dtype.rounded(value)
    }
  }

  /// The new contents of `result`: `compute(lane, element)` for active lanes, rounded to its type.
  func computed(_ result: KValue, _ mask: [Bool], _ compute: (Int, Int) throws(KIRError) -> Double) throws(KIRError)
    -> [Double]
  {
    let resultType = type(result)
    var contents = values[result.id]
    for lane in 0..<groupSize where mask[lane] {
      for k in 0..<resultType.lanes {
        contents[lane * resultType.lanes + k] = round(try compute(lane, k), resultType.scalar)
      }
    }
    return contents
  }

  /// Element `k` of `value` for `lane`; scalars broadcast across vector lanes.
  func get(_ value: KValue, _ lane: Int, _ k: Int = 0) -> Double {
    let lanes = type(value).lanes
    return values[value.id][lane * lanes + (lanes == 1 ? 0 : k)]
  }

  mutating func execute(_ body: [KInstruction], mask: [Bool]) throws(KIRError) {
    for instruction in body {
      try execute(instruction, mask: mask)
    }
  }

  mutating func execute(_ instruction: KInstruction, mask: [Bool]) throws(KIRError) {
    switch instruction {
    case .constant(let r, let value):
      values[r.id] = try computed(r, mask) { _, _ in value }
    case .builtin(let r, let builtin, let dimension):
      let group = groupIndex[dimension], size = kernel.workgroupSize[dimension], count = groupCounts[dimension]
      values[r.id] = try computed(r, mask) { lane, _ in
        let local = localIndex(lane, dimension)
        return switch builtin {
        case .globalID: Double(group * size + local)
        case .localID: Double(local)
        case .groupID: Double(group)
        case .groupCount: Double(count)
        }
      }
    case .scalarArgument(let r, let name):
      let value = scalars[name]!
      values[r.id] = try computed(r, mask) { _, _ in value }
    case .unary(let r, let op, let a):
      let f = KIRMath.unary(op)
      values[r.id] = try computed(r, mask) { lane, k in f(get(a, lane, k)) }
    case .binary(let r, let op, let a, let b):
      let isInteger = !type(a).scalar.isFloatingPoint
      values[r.id] = try computed(r, mask) { lane, k throws(KIRError) in
        let (x, y) = (get(a, lane, k), get(b, lane, k))
        if isInteger && (op == .div || op == .rem) && y == 0 { throw fault("integer \(op) by zero") }
        return KIRMath.binary(op, x, y, integer: isInteger)
      }
    case .mulAdd(let r, let a, let b, let c):
      values[r.id] = try computed(r, mask) { lane, k in get(a, lane, k) * get(b, lane, k) + get(c, lane, k) }
    case .compare(let r, let kind, let a, let b):
      values[r.id] = try computed(r, mask) { lane, k in kind.holds(get(a, lane, k), get(b, lane, k)) ? 1 : 0
      }
    case .select(let r, let c, let a, let b):
      values[r.id] = try computed(r, mask) { lane, k in get(c, lane, k) != 0 ? get(a, lane, k) : get(b, lane, k) }
    case .cast(let r, let a):
      let integer = !type(r).scalar.isFloatingPoint && type(r).scalar != .bool
      values[r.id] = try computed(r, mask) { lane, k in integer ? get(a, lane, k).rounded(.towardZero) : get(a, lane, k)
      }
    case .splat(let r, let a):
      values[r.id] = try computed(r, mask) { lane, _ in get(a, lane) }
    case .extract(let r, let a, let index):
      values[r.id] = try computed(r, mask) { lane, _ in get(a, lane, index) }
    case .reduceLanes(let r, let op, let a):
      let lanes = type(a).lanes
      values[r.id] = try computed(r, mask) { lane, _ in
        (1..<lanes).reduce(get(a, lane, 0)) { KIRMath.binary(op, $0, get(a, lane, $1), integer: false) }
      }
    case .load(let r, let buffer, let i):
      try load(r, buffer, i, mask)
    case .loadDequantized(let r, let buffer, let i):
      let elements = quantized[buffer]!, lanes = type(r).lanes
      values[r.id] = try computed(r, mask) { lane, k throws(KIRError) in
        let first = Int(get(i, lane)), index = first + k
        guard first % lanes == 0 else {
          throw fault(
            "load_dequant of \(lanes) lanes from \(kernel.buffers[buffer].name)[\(first)]: not a multiple of \(lanes)")
        }
        guard elements.indices.contains(index) else {
          throw outOfBounds("load_dequant", buffer, index, elements.count, lane)
        }
        return Double(elements[index])
      }
    case .store(let buffer, let i, let v):
      try store(buffer, i, v, mask)
    case .loadShared(let r, let array, let i):
      try loadShared(r, array, i, mask)
    case .storeShared(let array, let i, let v):
      try storeShared(array, i, v, mask)
    case .declare(let variable, let initial), .write(let variable, let initial):
      let lanes = kernel.variableTypes[variable.id].lanes
      for lane in 0..<groupSize where mask[lane] {
        for k in 0..<lanes { variables[variable.id][lane * lanes + k] = get(initial, lane, k) }
      }
    case .read(let r, let variable):
      let lanes = kernel.variableTypes[variable.id].lanes
      values[r.id] = try computed(r, mask) { lane, k in variables[variable.id][lane * lanes + k] }
    case .loop(let index, let start, let end, let step, let body):
      values[index.id] = try computed(index, mask) { lane, _ in get(start, lane) }
      while true {
        let active = (0..<groupSize).map { mask[$0] && get(index, $0) < get(end, $0) }
        guard active.contains(true) else { break }
        try execute(body, mask: active)
        values[index.id] = try computed(index, active) { lane, _ in get(index, lane) + Double(step) }
      }
    case .conditional(let condition, let then, let otherwise):
      let taken = (0..<groupSize).map { mask[$0] && get(condition, $0) != 0 }
      let other = (0..<groupSize).map { mask[$0] && get(condition, $0) == 0 }
      if taken.contains(true) { try execute(then, mask: taken) }
      if other.contains(true) { try execute(otherwise, mask: other) }
    case .barrier:
      guard !mask.contains(false) else {
        throw fault("barrier reached by \(mask.filter { $0 }.count) of \(groupSize) work-items of group \(groupIndex)")
      }
      for array in sharedWriter.indices {
        for element in sharedWriter[array].indices where sharedWriter[array][element] >= 0 {
          sharedWriter[array][element] = -2
        }
      }
    case .subgroupAdd(let r, let a):
      try subgroupAdd(r, a, mask)
    }
  }

  /// Each row of the workgroup (``KInstruction/subgroupAdd(_:_:)``) sums `a` as a shared-memory
  /// tree would: `v[l] += v[l + stride]` for strides halving from half the row, rounded to f32.
  mutating func subgroupAdd(_ r: KValue, _ a: KValue, _ mask: [Bool]) throws(KIRError) {
    let rowSize = kernel.workgroupSize[0]
    for first in stride(from: 0, to: groupSize, by: rowSize) {
      let row = first..<(first + rowSize)
      let active = row.filter { mask[$0] }.count
      guard active > 0 else { continue }
      guard active == rowSize else {
        throw fault(
          "subgroup_add reached by \(active) of the \(rowSize) work-items of a row (local item \(first)) in group \(groupIndex)"
        )
      }
      var partial = row.map { get(a, $0) }
      var half = rowSize / 2
      while half >= 1 {
        for l in 0..<half { partial[l] = Double(Float(partial[l] + partial[l + half])) }
        half /= 2
      }
      for lane in row { values[r.id][lane] = partial[0] }
    }
  }

  func outOfBounds(_ what: String, _ buffer: Int, _ index: Int, _ count: Int, _ lane: Int) -> KIRError {
    fault(
      "\(what) \(kernel.buffers[buffer].name)[\(index)] is out of bounds (\(count) elements) in group \(groupIndex), local item \(lane)"
    )
  }

  mutating func load(_ r: KValue, _ buffer: Int, _ i: KValue, _ mask: [Bool]) throws(KIRError) {
    let lanes = type(r).lanes
    for lane in 0..<groupSize where mask[lane] {
      let base = Int(get(i, lane))
      for k in 0..<lanes {
        let index = base + k
        guard memory[buffer].indices.contains(index) else {
          throw outOfBounds("load", buffer, index, memory[buffer].count, lane)
        }
        let writer = writers[buffer][index]
        if writer >= 0 && writer != workItem(lane) {
          throw fault(
            "work-item \(workItem(lane)) reads \(kernel.buffers[buffer].name)[\(index)] written by work-item \(writer) in the same launch"
          )
        }
        values[r.id][lane * lanes + k] = memory[buffer][index]
      }
    }
  }

  mutating func store(_ buffer: Int, _ i: KValue, _ v: KValue, _ mask: [Bool]) throws(KIRError) {
    let lanes = type(v).lanes
    let dtype = kernel.buffers[buffer].dtype
    for lane in 0..<groupSize where mask[lane] {
      let base = Int(get(i, lane))
      for k in 0..<lanes {
        let index = base + k
        guard memory[buffer].indices.contains(index) else {
          throw outOfBounds("store", buffer, index, memory[buffer].count, lane)
        }
        let writer = writers[buffer][index]
        if writer >= 0 && writer != workItem(lane) {
          throw fault("work-items \(writer) and \(workItem(lane)) both write \(kernel.buffers[buffer].name)[\(index)]")
        }
        writers[buffer][index] = workItem(lane)
        memory[buffer][index] = round(get(v, lane, k), dtype)
      }
    }
  }

  mutating func loadShared(_ r: KValue, _ array: Int, _ i: KValue, _ mask: [Bool]) throws(KIRError) {
    let name = kernel.shared[array].name
    for lane in 0..<groupSize where mask[lane] {
      let index = Int(get(i, lane))
      guard shared[array].indices.contains(index) else {
        throw fault(
          "load_shared \(name)[\(index)] is out of bounds (\(shared[array].count) elements), local item \(lane)")
      }
      let writer = sharedWriter[array][index]
      if writer == -1 { throw fault("local item \(lane) reads \(name)[\(index)] before any work-item wrote it") }
      if writer >= 0 && writer != Int32(lane) {
        throw fault(
          "local item \(lane) reads \(name)[\(index)] written by local item \(writer) without a barrier between")
      }
      values[r.id][lane] = shared[array][index]
    }
  }

  mutating func storeShared(_ array: Int, _ i: KValue, _ v: KValue, _ mask: [Bool]) throws(KIRError) {
    let name = kernel.shared[array].name
    for lane in 0..<groupSize where mask[lane] {
      let index = Int(get(i, lane))
      guard shared[array].indices.contains(index) else {
        throw fault(
          "store_shared \(name)[\(index)] is out of bounds (\(shared[array].count) elements), local item \(lane)")
      }
      let writer = sharedWriter[array][index]
      if writer >= 0 && writer != Int32(lane) {
        throw fault("local items \(writer) and \(lane) both write \(name)[\(index)] without a barrier between")
      }
      sharedWriter[array][index] = Int32(lane)
      shared[array][index] = round(get(v, lane), kernel.shared[array].dtype)
    }
  }
}

/// The scalar semantics of KIR operations, shared by the interpreter and constant folding.
public enum KIRMath {
  /// A unary op on one lane.
  public static func unary(_ op: KUnaryOp) -> (Double) -> Double {
    switch op {
    case .neg: { -$0 }
    case .abs: { Swift.abs($0) }
    case .exp: { Foundation.exp($0) }
    case .log: { Foundation.log($0) }
    case .sqrt: { $0.squareRoot() }
    case .rsqrt: { 1 / $0.squareRoot() }
    case .reciprocal: { 1 / $0 }
    case .tanh: { Foundation.tanh($0) }
    case .sin: { Foundation.sin($0) }
    case .cos: { Foundation.cos($0) }
    case .erf: { Foundation.erf($0) }
    case .floor: { $0.rounded(.down) }
    }
  }

  /// A binary op on one lane; integer `div`/`rem` truncate toward zero (the divisor is non-zero).
  public static func binary(_ op: KBinaryOp, _ x: Double, _ y: Double, integer: Bool) -> Double {
    switch op {
    case .add: x + y
    case .sub: x - y
    case .mul: x * y
    case .div: integer ? (x / y).rounded(.towardZero) : x / y
    case .rem: integer ? x - (x / y).rounded(.towardZero) * y : fmod(x, y)
    case .max: x.isNaN || y.isNaN ? .nan : Swift.max(x, y)
    case .min: x.isNaN || y.isNaN ? .nan : Swift.min(x, y)
    case .pow: Foundation.pow(x, y)
    case .and: (x != 0 && y != 0) ? 1 : 0
    case .or: (x != 0 || y != 0) ? 1 : 0
    }
  }
}
