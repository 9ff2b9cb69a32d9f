import TesseraIR

/// A Kernel IR error: an invalid kernel, or a fault while interpreting one.
public enum KIRError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The kernel breaks a rule of the IR; `detail` says which and where.
  case invalid(kernel: String, detail: String)
  /// Interpretation stopped: an out-of-bounds access, a race, a divergent barrier…
  case fault(kernel: String, detail: String)

  /// `kernel @name: detail`.
  public var description: String {
    switch self {
    case .invalid(let kernel, let detail): "kernel @\(kernel) is invalid: \(detail)"
    case .fault(let kernel, let detail): "kernel @\(kernel) faulted: \(detail)"
    }
  }
}

/// Checks a kernel: every value defined once and before use (values defined in a body are not
/// visible after it), operand types agree, indices are i32, buffers are used as declared.
public enum KIRVerifier {
  /// Throws the first problem found.
  public static func verify(_ kernel: Kernel) throws(KIRError) {
    var checker = Checker(kernel: kernel)
    try checker.check()
  }

  /// Scoping is tracked with one flag per value and variable plus an undo log of what each open
  /// body defined, so entering and leaving a body costs only what the body defines (copying a set
  /// of every visible value at each body made verification quadratic in the kernel's size).
  private struct Checker {
    let kernel: Kernel
    var defined: [Bool]
    var declared: [Bool]
    var definedLog: [Int] = []
    var declaredLog: [Int] = []

    init(kernel: Kernel) {
      self.kernel = kernel
      defined = [Bool](repeating: false, count: kernel.valueTypes.count)
      declared = [Bool](repeating: false, count: kernel.variableTypes.count)
    }

    mutating func check() throws(KIRError) {
      guard (1...3).contains(kernel.workgroupSize.count), kernel.workgroupSize.count == kernel.globalSize.count,
        kernel.workgroupSize.allSatisfy({ $0 >= 1 })
      else {
        throw fail(
          "workgroup size \(kernel.workgroupSize) and global size \(kernel.globalSize) need 1 to 3 matching dimensions")
      }
      for size in kernel.globalSize { try checkSize(size) }
      for buffer in kernel.buffers { try checkInterleave(buffer) }
      try block(kernel.body)
    }

    /// An interleaved copy is of a read-only block-quantized buffer whose rows are whole blocks.
    private func checkInterleave(_ buffer: KBuffer) throws(KIRError) {
      guard let interleave = buffer.interleave else { return }
      guard let block = buffer.dtype.quantBlock, buffer.access == .read, interleave.rows >= 1,
        interleave.rowCount >= 1, interleave.rowElements >= block.elements,
        interleave.rowElements % block.elements == 0
      else {
        throw fail(
          "buffer \(buffer.name) (\(buffer.dtype), \(buffer.access.rawValue)) cannot be read interleaved \(interleave): "
            + "interleaving needs a read-only block-quantized buffer whose rows are whole blocks")
      }
    }

    private func checkSize(_ size: KSize) throws(KIRError) {
      switch size {
      case .constant(let value) where value < 0: throw fail("negative global size \(value)")
      case .scalar(let name) where !kernel.scalars.contains(where: { $0.name == name }):
        throw fail("global size names unknown scalar $\(name)")
      case .product(let a, let b):
        try checkSize(a)
        try checkSize(b)
      case .ceilDiv(_, let divisor) where divisor < 1: throw fail("global size divides by \(divisor)")
      case .ceilDiv(let a, _): try checkSize(a)
      default: break
      }
    }

    private func fail(_ detail: String) -> KIRError { .invalid(kernel: kernel.name, detail: detail) }

    private func type(_ value: KValue) -> KType { kernel.valueTypes[value.id] }

    private func isDefined(_ value: KValue) -> Bool { defined.indices.contains(value.id) && defined[value.id] }

    private func use(_ value: KValue) throws(KIRError) {
      if !isDefined(value) { throw fail("\(value) is used where it is not defined") }
    }

    private func use(_ a: KValue, _ b: KValue) throws(KIRError) {
      try use(a)
      try use(b)
    }

    private func use(_ a: KValue, _ b: KValue, _ c: KValue) throws(KIRError) {
      try use(a)
      try use(b)
      try use(c)
    }

    private mutating func define(_ value: KValue) throws(KIRError) {
      guard kernel.valueTypes.indices.contains(value.id) else { throw fail("\(value) has no type") }
      guard !defined[value.id] else { throw fail("\(value) is defined twice") }
      defined[value.id] = true
      definedLog.append(value.id)
    }

    private func isDeclared(_ variable: KVariable) -> Bool {
      declared.indices.contains(variable.id) && declared[variable.id]
    }

    /// `role` is only built when the check fails: formatting it for every instruction dominated
    /// verification time.
    private func expect(_ value: KValue, _ expected: KType, _ role: @autoclosure () -> String) throws(KIRError) {
      guard type(value) == expected else {
        throw fail("\(role()) \(value) is \(type(value)), expected \(expected)")
      }
    }

    private func buffer(_ index: Int, writing: Bool) throws(KIRError) -> KBuffer {
      guard kernel.buffers.indices.contains(index) else { throw fail("buffer #\(index) does not exist") }
      let buffer = kernel.buffers[index]
      if writing && buffer.access == .read { throw fail("store to read-only buffer \(buffer.name)") }
      if !writing && buffer.access == .write { throw fail("load from write-only buffer \(buffer.name)") }
      return buffer
    }

    private func shared(_ index: Int) throws(KIRError) -> KSharedArray {
      guard kernel.shared.indices.contains(index) else { throw fail("shared array #\(index) does not exist") }
      return kernel.shared[index]
    }

    private mutating func block(_ instructions: [KInstruction]) throws(KIRError) {
      let outerValues = definedLog.count, outerVariables = declaredLog.count
      for instruction in instructions { try check(instruction) }
      forget(since: outerValues, outerVariables)
    }

    /// Undoes the definitions and declarations made since the logs had these lengths.
    private mutating func forget(since values: Int, _ variables: Int) {
      while definedLog.count > values { defined[definedLog.removeLast()] = false }
      while declaredLog.count > variables { declared[declaredLog.removeLast()] = false }
    }

    private mutating func check(_ instruction: KInstruction) throws(KIRError) {
      switch instruction {
      case .constant(let r, _):
        try define(r)
      case .builtin(let r, _, let dimension):
        guard dimension < kernel.workgroupSize.count else {
          throw fail("\(r) reads dimension \(dimension) of a \(kernel.workgroupSize.count)-D launch")
        }
        try expect(r, .i32, "builtin")
        try define(r)
      case .scalarArgument(let r, let name):
        guard let scalar = kernel.scalars.first(where: { $0.name == name }) else {
          throw fail("unknown scalar $\(name)")
        }
        try expect(r, KType(scalar.dtype), "argument")
        try define(r)
      case .unary(let r, let op, let a):
        try use(a)
        try expect(r, type(a), "result of \(op)")
        if op != .neg && op != .abs && !type(a).scalar.isFloatingPoint {
          throw fail("\(op) needs a float operand, \(a) is \(type(a))")
        }
        try define(r)
      case .binary(let r, let op, let a, let b):
        try use(a, b)
        try expect(b, type(a), "operand of \(op)")
        try expect(r, type(a), "result of \(op)")
        if (op == .and || op == .or) != (type(a).scalar == .bool) { throw fail("\(op) does not apply to \(type(a))") }
        try define(r)
      case .mulAdd(let r, let a, let b, let c):
        try use(a, b, c)
        try expect(b, type(a), "operand of mul_add")
        try expect(c, type(a), "operand of mul_add")
        try expect(r, type(a), "result of mul_add")
        if !type(a).scalar.isFloatingPoint { throw fail("mul_add needs float operands, \(a) is \(type(a))") }
        try define(r)
      case .compare(let r, _, let a, let b):
        try use(a, b)
        try expect(b, type(a), "compared operand")
        try expect(r, KType(.bool, lanes: type(a).lanes), "comparison result")
        try define(r)
      case .select(let r, let c, let a, let b):
        try use(c, a, b)
        try expect(c, KType(.bool, lanes: type(a).lanes), "select condition")
        try expect(b, type(a), "select operand")
        try expect(r, type(a), "select result")
        try define(r)
      case .cast(let r, let a):
        try use(a)
        guard type(r).lanes == type(a).lanes else { throw fail("cast \(a) changes the lane count") }
        try define(r)
      case .splat(let r, let a):
        try use(a)
        try expect(a, KType(type(r).scalar), "splatted scalar")
        try define(r)
      case .extract(let r, let a, let lane):
        try use(a)
        guard (0..<type(a).lanes).contains(lane) else { throw fail("lane \(lane) of \(type(a))") }
        try expect(r, KType(type(a).scalar), "extracted lane")
        try define(r)
      case .reduceLanes(let r, _, let a):
        try use(a)
        try expect(r, KType(type(a).scalar), "lane reduction")
        try define(r)
      case .load(let r, let index, let i):
        try use(i)
        try expect(i, .i32, "load index")
        let buffer = try buffer(index, writing: false)
        guard !buffer.dtype.isQuantized else {
          throw fail("plain load from quantized buffer \(buffer.name); use load_dequant")
        }
        try expect(r, KType(buffer.dtype, lanes: type(r).lanes), "loaded value")
        try define(r)
      case .loadDequantized(let r, let index, let i):
        try use(i)
        try expect(i, .i32, "load index")
        let quantized = try buffer(index, writing: false).dtype
        guard let block = quantized.quantBlock else { throw fail("load_dequant from a plain buffer") }
        let lanes = type(r).lanes
        guard block.elements % lanes == 0 else {
          throw fail("load_dequant of \(lanes) lanes does not divide a \(quantized) block")
        }
        try expect(r, KType(.f32, lanes: lanes), "dequantized value")
        try define(r)
      case .store(let index, let i, let v):
        try use(i, v)
        try expect(i, .i32, "store index")
        let buffer = try buffer(index, writing: true)
        try expect(v, KType(buffer.dtype, lanes: type(v).lanes), "stored value")
      case .loadShared(let r, let array, let i):
        try use(i)
        try expect(i, .i32, "shared index")
        try expect(r, KType(try shared(array).dtype), "loaded shared value")
        try define(r)
      case .storeShared(let array, let i, let v):
        try use(i, v)
        try expect(i, .i32, "shared index")
        try expect(v, KType(try shared(array).dtype), "stored shared value")
      case .declare(let variable, let initial):
        try use(initial)
        guard kernel.variableTypes.indices.contains(variable.id), !declared[variable.id] else {
          throw fail("\(variable) is declared twice or has no type")
        }
        declared[variable.id] = true
        declaredLog.append(variable.id)
        try expect(initial, kernel.variableTypes[variable.id], "initial value of \(variable)")
      case .read(let r, let variable):
        guard isDeclared(variable) else { throw fail("\(variable) is read where it is not declared") }
        try expect(r, kernel.variableTypes[variable.id], "read of \(variable)")
        try define(r)
      case .write(let variable, let v):
        try use(v)
        guard isDeclared(variable) else { throw fail("\(variable) is written where it is not declared") }
        try expect(v, kernel.variableTypes[variable.id], "value written to \(variable)")
      case .loop(let index, let start, let end, let step, let body):
        try use(start, end)
        try expect(start, .i32, "loop start")
        try expect(end, .i32, "loop end")
        guard step >= 1 else { throw fail("loop step \(step) must be positive") }
        let outer = definedLog.count
        try define(index)
        try block(body)
        forget(since: outer, declaredLog.count)
      case .conditional(let condition, let then, let otherwise):
        try use(condition)
        try expect(condition, .bool, "condition")
        try block(then)
        try block(otherwise)
      case .barrier:
        break
      case .subgroupAdd(let r, let a):
        try use(a)
        try expect(a, .f32, "subgroup sum operand")
        try expect(r, .f32, "subgroup sum")
        let rowSize = kernel.workgroupSize[0]
        guard rowSize & (rowSize - 1) == 0 else {
          throw fail("subgroup_add in a workgroup whose rows of \(rowSize) work-items are not a power of two")
        }
        try define(r)
      }
    }
  }
}
