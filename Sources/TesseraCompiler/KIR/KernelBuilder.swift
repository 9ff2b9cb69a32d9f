import TesseraIR

/// Writes Kernel IR with Swift that reads like the kernel:
///
/// ```swift
/// let k = KernelBuilder(name: "scale")
/// let x = k.buffer("x", .f32, .read), y = k.buffer("y", .f32, .write)
/// let n = k.scalar("n")
/// k.launch(global: [.scalar("n")], workgroup: [64])
/// let i = k.globalID(0)
/// k.if(i.lt(n)) { y[i] = x[i] * 2.0 }
/// let kernel = try k.finish()
/// ```
///
/// Instructions go into the innermost open body (`loop`, `if`); ``finish()`` verifies the kernel.
public final class KernelBuilder {
  private var kernel: Kernel
  private var code = Code()

  /// The values' types and the open bodies, kept in one stored property so that emitting an
  /// instruction is one access to the builder (every access to a class's stored property is
  /// checked for exclusivity at run time, and library kernels emit thousands of instructions).
  private struct Code {
    var valueTypes: [KType] = []
    /// The bodies enclosing ``current``, outermost first.
    var enclosing: [[KInstruction]] = []
    /// The innermost open body.
    var current: [KInstruction] = []

    mutating func newValue(_ type: KType) -> KValue {
      valueTypes.append(type)
      return KValue(valueTypes.count - 1)
    }

    mutating func emit(_ type: KType, _ make: (KValue) -> KInstruction) -> KValue {
      let value = newValue(type)
      current.append(make(value))
      return value
    }

    mutating func open() {
      enclosing.append(current)
      current = []
    }

    mutating func close() -> [KInstruction] {
      let body = current
      current = enclosing.removeLast()
      return body
    }
  }

  /// Starts a kernel; `comment` says what it computes.
  public init(name: String, comment: String = "") {
    kernel = Kernel(
      name: name, comment: comment, buffers: [], scalars: [], shared: [], workgroupSize: [1],
      globalSize: [.constant(1)], valueTypes: [], variableTypes: [], body: [])
  }

  // MARK: Parameters and launch

  /// Declares a global buffer parameter; with `interleave`, one the device binds to a copy of its
  /// block-quantized value with rows interleaved (``KRowInterleave``).
  public func buffer(_ name: String, _ dtype: DType, _ access: BufferAccess, interleave: KRowInterleave? = nil)
    -> KBufferRef
  {
    kernel.buffers.append(KBuffer(name: name, dtype: dtype, access: access, interleave: interleave))
    return KBufferRef(builder: self, index: kernel.buffers.count - 1, dtype: dtype)
  }

  /// Declares a runtime scalar parameter and returns its value.
  public func scalar(_ name: String, _ dtype: DType = .i32) -> KExpr {
    kernel.scalars.append(KScalar(name: name, dtype: dtype))
    return emit(KType(dtype)) { .scalarArgument($0, name) }
  }

  /// The value of a scalar parameter declared earlier, for code that did not declare it (such as a
  /// library kernel's epilogue); an undeclared name is reported by ``finish()``.
  public func scalarValue(_ name: String) -> KExpr {
    let dtype = kernel.scalars.first { $0.name == name }?.dtype ?? .i32
    return emit(KType(dtype)) { .scalarArgument($0, name) }
  }

  /// Declares a workgroup-shared array.
  public func shared(_ name: String, _ dtype: DType, count: Int) -> KSharedRef {
    kernel.shared.append(KSharedArray(name: name, dtype: dtype, count: count))
    return KSharedRef(builder: self, index: kernel.shared.count - 1, dtype: dtype)
  }

  /// Sets the launch: total work-items and work-items per workgroup, per dimension.
  public func launch(global: [KSize], workgroup: [Int]) {
    kernel.globalSize = global
    kernel.workgroupSize = workgroup
  }

  // MARK: Values

  /// The work-item's index among all work-items along `dimension`.
  public func globalID(_ dimension: Int = 0) -> KExpr { emit(.i32) { .builtin($0, .globalID, dimension: dimension) } }
  /// The work-item's index inside its workgroup.
  public func localID(_ dimension: Int = 0) -> KExpr { emit(.i32) { .builtin($0, .localID, dimension: dimension) } }
  /// The workgroup's index.
  public func groupID(_ dimension: Int = 0) -> KExpr { emit(.i32) { .builtin($0, .groupID, dimension: dimension) } }
  /// The number of workgroups.
  public func groupCount(_ dimension: Int = 0) -> KExpr {
    emit(.i32) { .builtin($0, .groupCount, dimension: dimension) }
  }

  /// A constant of `type`.
  public func constant(_ value: Double, _ type: KType) -> KExpr { emit(type) { .constant($0, value) } }
  /// An i32 constant.
  public func i32(_ value: Int) -> KExpr { constant(Double(value), .i32) }
  /// An f32 constant.
  public func f32(_ value: Double) -> KExpr { constant(value, .f32) }

  /// A mutable variable (an accumulator) starting at `initial`.
  public func variable(_ initial: KExpr) -> KVariableRef {
    kernel.variableTypes.append(initial.type)
    let variable = KVariable(kernel.variableTypes.count - 1)
    append(.declare(variable, initial: initial.value))
    return KVariableRef(builder: self, variable: variable, type: initial.type)
  }

  // MARK: Control flow

  /// `for i in stride(from: start, to: end, by: step)`, one iteration per work-item's own bounds.
  public func loop(from start: KExpr, to end: KExpr, step: Int = 1, _ body: (KExpr) -> Void) {
    let index = newValue(.i32)
    code.open()
    body(KExpr(builder: self, value: index, type: .i32))
    let instructions = code.close()
    append(.loop(index: index, start: start.value, end: end.value, step: step, body: instructions))
  }

  /// Runs `then` where `condition` holds and `otherwise` elsewhere.
  public func `if`(_ condition: KExpr, then: () -> Void, else otherwise: (() -> Void)? = nil) {
    code.open()
    then()
    let thenBody = code.close()
    code.open()
    otherwise?()
    let elseBody = code.close()
    append(.conditional(condition.value, then: thenBody, otherwise: elseBody))
  }

  /// A workgroup barrier; every work-item of the group must reach it.
  public func barrier() { append(.barrier) }

  // MARK: Math

  /// A lane-wise unary op.
  public func unary(_ op: KUnaryOp, _ a: KExpr) -> KExpr { emit(a.type) { .unary($0, op, a.value) } }
  /// `e^x`.
  public func exp(_ a: KExpr) -> KExpr { unary(.exp, a) }
  /// `1 / sqrt(x)`.
  public func rsqrt(_ a: KExpr) -> KExpr { unary(.rsqrt, a) }
  /// Lane-wise maximum.
  public func max(_ a: KExpr, _ b: KExpr) -> KExpr { a.binary(.max, b) }
  /// Lane-wise minimum.
  public func min(_ a: KExpr, _ b: KExpr) -> KExpr { a.binary(.min, b) }
  /// `condition ? a : b`.
  public func select(_ condition: KExpr, _ a: KExpr, _ b: KExpr) -> KExpr {
    emit(a.type) { .select($0, condition.value, a.value, b.value) }
  }

  /// Ends the kernel and verifies it.
  public func finish() throws(KIRError) -> Kernel {
    precondition(code.enclosing.isEmpty, "KernelBuilder.finish inside an open loop or if")
    var finished = kernel
    finished.valueTypes = code.valueTypes
    finished.body = code.current
    try KIRVerifier.verify(finished)
    return finished
  }

  // MARK: Internals used by the expression types

  func newValue(_ type: KType) -> KValue { code.newValue(type) }

  func emit(_ type: KType, _ make: (KValue) -> KInstruction) -> KExpr {
    KExpr(builder: self, value: code.emit(type, make), type: type)
  }

  func append(_ instruction: KInstruction) { code.current.append(instruction) }
}

/// A value being built; arithmetic on it appends instructions to its builder.
public struct KExpr {
  let builder: KernelBuilder
  /// The SSA value.
  public let value: KValue
  /// Its type.
  public let type: KType

  /// A lane-wise binary op with another value of the same type.
  public func binary(_ op: KBinaryOp, _ other: KExpr) -> KExpr {
    builder.emit(type) { .binary($0, op, value, other.value) }
  }

  /// `self · factor + addend`, lane-wise, of floats of one type, rounded once (``KInstruction/mulAdd(_:_:_:_:)``).
  public func multipliedAdding(_ factor: KExpr, _ addend: KExpr) -> KExpr {
    builder.emit(type) { .mulAdd($0, value, factor.value, addend.value) }
  }

  /// A lane-wise comparison giving bool.
  public func compare(_ kind: CompareKind, _ other: KExpr) -> KExpr {
    builder.emit(KType(.bool, lanes: type.lanes)) { .compare($0, kind, value, other.value) }
  }

  /// Converts to `type` (lane-wise).
  public func cast(to target: KType) -> KExpr {
    target == type ? self : builder.emit(target) { .cast($0, value) }
  }

  /// Converts to `dtype` keeping the lane count.
  public func cast(_ dtype: DType) -> KExpr { cast(to: KType(dtype, lanes: type.lanes)) }

  /// A constant of this value's scalar type.
  func literal(_ number: Double) -> KExpr { builder.constant(number, KType(type.scalar)) }

  /// Lane `lane` of a vector.
  public func lane(_ lane: Int) -> KExpr { builder.emit(KType(type.scalar)) { .extract($0, value, lane: lane) } }

  /// Combines the lanes of a vector with `op` (add, max, min).
  public func reduceLanes(_ op: KBinaryOp) -> KExpr { builder.emit(KType(type.scalar)) { .reduceLanes($0, op, value) } }

  /// The f32 sum of this value over the work-items of this row of the workgroup
  /// (``KInstruction/subgroupAdd(_:_:)``).
  public func subgroupAdd() -> KExpr { builder.emit(type) { .subgroupAdd($0, value) } }

  /// The scalar repeated in every lane of a `lanes`-wide vector.
  public func splat(_ lanes: Int) -> KExpr { builder.emit(KType(type.scalar, lanes: lanes)) { .splat($0, value) } }

  /// `a + b`.
  public static func + (a: KExpr, b: KExpr) -> KExpr { a.binary(.add, b) }
  /// `a - b`.
  public static func - (a: KExpr, b: KExpr) -> KExpr { a.binary(.sub, b) }
  /// `a * b`.
  public static func * (a: KExpr, b: KExpr) -> KExpr { a.binary(.mul, b) }
  /// `a / b` (truncating for integers).
  public static func / (a: KExpr, b: KExpr) -> KExpr { a.binary(.div, b) }
  /// `a % b` (C remainder for integers).
  public static func % (a: KExpr, b: KExpr) -> KExpr { a.binary(.rem, b) }
  /// `a + constant`.
  public static func + (a: KExpr, b: Double) -> KExpr { a + a.literal(b) }
  /// `a - constant`.
  public static func - (a: KExpr, b: Double) -> KExpr { a - a.literal(b) }
  /// `a * constant`.
  public static func * (a: KExpr, b: Double) -> KExpr { a * a.literal(b) }
  /// `a / constant`.
  public static func / (a: KExpr, b: Double) -> KExpr { a / a.literal(b) }
  /// `a % constant`.
  public static func % (a: KExpr, b: Double) -> KExpr { a % a.literal(b) }
  /// `a < b` as a bool value. (Comparisons are methods, not operators, so that importing the
  /// compiler does not slow down type checking of ordinary `<` expressions.)
  public func lt(_ b: KExpr) -> KExpr { compare(.lt, b) }
  /// `a <= b`.
  public func le(_ b: KExpr) -> KExpr { compare(.le, b) }
  /// `a > b`.
  public func gt(_ b: KExpr) -> KExpr { compare(.gt, b) }
  /// `a >= b`.
  public func ge(_ b: KExpr) -> KExpr { compare(.ge, b) }
  /// `a < constant`.
  public func lt(_ b: Double) -> KExpr { compare(.lt, literal(b)) }
  /// Logical and of two bools.
  public func and(_ b: KExpr) -> KExpr { binary(.and, b) }
}

/// A global buffer inside a kernel being built: `x[i]` loads, `y[i] = v` stores.
public struct KBufferRef {
  let builder: KernelBuilder
  let index: Int
  /// The element type.
  public let dtype: DType

  /// Loads element `i` (or `lanes` consecutive elements from `i`). From a quantized buffer the
  /// elements are dequantized to f32, and a vector must lie in one block: `lanes` divides the
  /// block size and `i` is a multiple of `lanes` (so a target decodes the block's scale once).
  public func load(_ i: KExpr, lanes: Int = 1) -> KExpr {
    if dtype.isQuantized {
      return builder.emit(KType(.f32, lanes: lanes)) { .loadDequantized($0, buffer: index, index: i.value) }
    }
    return builder.emit(KType(dtype, lanes: lanes)) { .load($0, buffer: index, index: i.value) }
  }

  /// Loads (quantized buffers: dequantizes) element `i`; assigning stores.
  public subscript(_ i: KExpr) -> KExpr {
    get { load(i) }
    nonmutating set { builder.append(.store(buffer: index, index: i.value, value: newValue.value)) }
  }
}

/// A workgroup-shared array inside a kernel being built.
public struct KSharedRef {
  let builder: KernelBuilder
  let index: Int
  /// The element type.
  public let dtype: DType

  /// Loads element `i`; assigning stores.
  public subscript(_ i: KExpr) -> KExpr {
    get { builder.emit(KType(dtype)) { .loadShared($0, array: index, index: i.value) } }
    nonmutating set { builder.append(.storeShared(array: index, index: i.value, value: newValue.value)) }
  }
}

/// A variable inside a kernel being built.
public struct KVariableRef {
  let builder: KernelBuilder
  let variable: KVariable
  /// Its type.
  public let type: KType

  /// The current value (a read instruction); assigning writes.
  public var value: KExpr {
    get { builder.emit(type) { .read($0, variable) } }
    nonmutating set { builder.append(.write(variable, newValue.value)) }
  }
}
