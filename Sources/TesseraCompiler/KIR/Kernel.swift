import TesseraIR

/// The type of a Kernel IR value: a plain dtype, optionally a short vector of `lanes` elements.
public struct KType: Hashable, Sendable, CustomStringConvertible {
  /// The element type (a plain dtype: f32, f16, i32, i64, i8, u8 or bool).
  public var scalar: DType
  /// 1 for scalars; 2, 4, 8 or 16 for vectors.
  public var lanes: Int

  /// Creates a type.
  public init(_ scalar: DType, lanes: Int = 1) {
    self.scalar = scalar
    self.lanes = lanes
  }

  /// `f32`, `f32x4`.
  public var description: String { lanes == 1 ? scalar.rawValue : "\(scalar)x\(lanes)" }

  /// 32-bit float.
  public static let f32 = KType(.f32)
  /// 16-bit float.
  public static let f16 = KType(.f16)
  /// 32-bit signed integer: the type of indices and sizes.
  public static let i32 = KType(.i32)
  /// Boolean.
  public static let bool = KType(.bool)
}

/// An SSA value inside one kernel.
public struct KValue: Hashable, Sendable, CustomStringConvertible {
  /// Index into ``Kernel/valueTypes``.
  public let id: Int
  /// Wraps an index.
  public init(_ id: Int) { self.id = id }
  /// `%id`.
  public var description: String { "%\(id)" }
}

/// A mutable variable (an accumulator) inside one kernel.
public struct KVariable: Hashable, Sendable, CustomStringConvertible {
  /// Index into ``Kernel/variableTypes``.
  public let id: Int
  /// Wraps an index.
  public init(_ id: Int) { self.id = id }
  /// `$vid`.
  public var description: String { "$v\(id)" }
}

/// How a kernel uses a global buffer.
public enum BufferAccess: String, Hashable, Sendable {
  /// Only loads.
  case read
  /// Only stores.
  case write
  /// Loads and stores.
  case readWrite = "read_write"
}

/// A global buffer parameter: elements of `dtype` (or quantized blocks of it), addressed by
/// element index.
public struct KBuffer: Hashable, Sendable {
  /// Name in printed KIR and generated code.
  public var name: String
  /// Element type; block-quantized buffers (any ``BlockFormat``) are read with ``KInstruction/loadDequantized``.
  public var dtype: DType
  /// Read, write or both.
  public var access: BufferAccess
  /// Where the kernel reads a copy of its block-quantized value with rows interleaved, which the
  /// device makes and binds instead of the value (OpenCL CPU drivers; see ``KRowInterleave``);
  /// `nil`: the value as it is.
  public var interleave: KRowInterleave? = nil
}

/// A runtime scalar parameter (a size or position known only at run time).
public struct KScalar: Hashable, Sendable {
  /// Name in printed KIR and generated code.
  public var name: String
  /// i32 or f32.
  public var dtype: DType
}

/// An array in workgroup-shared memory.
public struct KSharedArray: Hashable, Sendable {
  /// Name in printed KIR and generated code.
  public var name: String
  /// Element type.
  public var dtype: DType
  /// Number of elements.
  public var count: Int
}

/// A launch dimension: the number of work-items, from constants and scalar parameters.
public indirect enum KSize: Hashable, Sendable, CustomStringConvertible {
  /// A compile-time count.
  case constant(Int)
  /// The value of a scalar parameter.
  case scalar(String)
  /// A product.
  case product(KSize, KSize)
  /// `⌈size / divisor⌉`: one work-item per block of `divisor` elements (a register-blocked
  /// kernel's launch); `divisor` is at least 1.
  case ceilDiv(KSize, Int)

  /// The count given the scalar arguments.
  public func evaluate(_ scalars: [String: Double]) -> Int {
    switch self {
    case .constant(let value): value
    case .scalar(let name): Int(scalars[name] ?? 0)
    case .product(let a, let b): a.evaluate(scalars) * b.evaluate(scalars)
    case .ceilDiv(let a, let divisor): (a.evaluate(scalars) + divisor - 1) / divisor
    }
  }

  /// `64`, `$n`, `$rows*64`, `ceil($n/16)`.
  public var description: String {
    switch self {
    case .constant(let value): "\(value)"
    case .scalar(let name): "$" + name
    case .product(let a, let b): "\(a)*\(b)"
    case .ceilDiv(let a, let divisor): "ceil(\(a)/\(divisor))"
    }
  }
}

/// Built-in indices of the work-item running the kernel.
public enum KBuiltin: String, Hashable, Sendable, CaseIterable {
  /// Index among all work-items along a dimension.
  case globalID = "global_id"
  /// Index inside the workgroup.
  case localID = "local_id"
  /// Index of the workgroup.
  case groupID = "group_id"
  /// Number of workgroups.
  case groupCount = "group_count"
}

/// Lane-wise unary operations.
public enum KUnaryOp: String, Hashable, Sendable, CaseIterable {
  case neg, abs, exp, log, sqrt, rsqrt, reciprocal, tanh, sin, cos, erf, floor
}

/// Lane-wise binary operations. Integer `div` and `rem` truncate toward zero, as in C.
public enum KBinaryOp: String, Hashable, Sendable, CaseIterable {
  case add, sub, mul, div, rem, max, min, pow, and, or
}

/// One instruction. Values are defined once; loops and conditionals hold nested bodies, and values
/// defined in a body are not visible after it (use a ``KVariable`` to carry a result out).
///
/// Not `indirect`: nested bodies are arrays, which already live on the heap, so instructions are
/// stored inline in their body's array instead of one heap box each (boxing every instruction
/// made building, verifying and freeing kernels mostly malloc, retain and release).
public enum KInstruction: Hashable, Sendable {
  /// `%r = const value`.
  case constant(KValue, Double)
  /// `%r = global_id 0` and friends.
  case builtin(KValue, KBuiltin, dimension: Int)
  /// `%r = arg $name`.
  case scalarArgument(KValue, String)
  /// `%r = exp %a`.
  case unary(KValue, KUnaryOp, KValue)
  /// `%r = add %a, %b`.
  case binary(KValue, KBinaryOp, KValue, KValue)
  /// `%r = mul_add %a, %b, %c`: `a · b + c` of floats, rounded once where the target fuses it
  /// (OpenCL's and SPIR-V's `fma`; the interpreters round the exact value).
  case mulAdd(KValue, KValue, KValue, KValue)
  /// `%r = lt %a, %b` (bool result).
  case compare(KValue, CompareKind, KValue, KValue)
  /// `%r = select %condition, %a, %b`.
  case select(KValue, KValue, KValue, KValue)
  /// `%r = cast %a` to the result's type.
  case cast(KValue, KValue)
  /// `%r = splat %scalar` to the result's vector type.
  case splat(KValue, KValue)
  /// `%r = extract %vector, lane`.
  case extract(KValue, KValue, lane: Int)
  /// `%r = reduce_lanes add|max|min %vector`: the lanes combined in an order the target chooses
  /// (the interpreter in lane order, OpenCL as a halving tree).
  case reduceLanes(KValue, KBinaryOp, KValue)
  /// `%r = load buffer[%index]`: a vector result reads consecutive elements.
  case load(KValue, buffer: Int, index: KValue)
  /// `%r = load_dequant buffer[%index]`: element `index` of a block-quantized buffer as f32, or
  /// (an f32 vector result) that many consecutive elements from `index`, a multiple of the lane
  /// count (which divides the block size), so inside one block.
  case loadDequantized(KValue, buffer: Int, index: KValue)
  /// `store buffer[%index], %value`.
  case store(buffer: Int, index: KValue, value: KValue)
  /// `%r = load_shared array[%index]`.
  case loadShared(KValue, array: Int, index: KValue)
  /// `store_shared array[%index], %value`.
  case storeShared(array: Int, index: KValue, value: KValue)
  /// `var $v = %initial`.
  case declare(KVariable, initial: KValue)
  /// `%r = read $v`.
  case read(KValue, KVariable)
  /// `write $v, %value`.
  case write(KVariable, KValue)
  /// `for %i = %start to %end step s { body }` (i32 index, `end` exclusive).
  case loop(index: KValue, start: KValue, end: KValue, step: Int, body: [KInstruction])
  /// `if %condition { then } else { otherwise }`.
  case conditional(KValue, then: [KInstruction], otherwise: [KInstruction])
  /// Workgroup barrier: shared-memory writes before it are visible to every work-item after it.
  case barrier
  /// `%r = subgroup_add %a`: the f32 sum of `a` over the work-items of one row of the workgroup
  /// (those with the same local ids along dimensions 1 and 2), given to each of them. Targets
  /// run it as a subgroup reduction (SPIR-V `OpGroupNonUniformFAdd`, OpenCL
  /// `sub_group_reduce_add`), so a kernel uses it only where the device's subgroups are exactly
  /// those rows: `workgroupSize[0]` (a power of two) is the device's subgroup size. Every
  /// work-item of a row reaches it together. The sum is the pairwise tree of a shared-memory
  /// reduction (halving strides, f32 rounding at each step); a device may add in another order.
  case subgroupAdd(KValue, KValue)
}

/// One compute kernel in Kernel IR: parameters, launch shape, shared memory and a body.
public struct Kernel: Hashable, Sendable {
  /// Name of the kernel in generated code.
  public var name: String
  /// What the kernel computes, for humans (e.g. the fused graph ops).
  public var comment: String
  /// Global buffers, in argument order.
  public var buffers: [KBuffer]
  /// Runtime scalars, in argument order after the buffers.
  public var scalars: [KScalar]
  /// Workgroup-shared arrays.
  public var shared: [KSharedArray]
  /// Work-items per workgroup, per dimension (1 to 3 dimensions).
  public var workgroupSize: [Int]
  /// Work-items in total per dimension; the launch rounds up to whole workgroups, so kernels
  /// check their bounds.
  public var globalSize: [KSize]
  /// The type of every value, indexed by ``KValue/id``.
  public var valueTypes: [KType]
  /// The type of every variable, indexed by ``KVariable/id``.
  public var variableTypes: [KType]
  /// The instructions.
  public var body: [KInstruction]

  /// The type of a value.
  public func type(of value: KValue) -> KType { valueTypes[value.id] }

  /// Workgroups per dimension for the given scalar arguments.
  public func groupCounts(_ scalars: [String: Double]) -> [Int] {
    zip(globalSize, workgroupSize).map { size, group in (size.evaluate(scalars) + group - 1) / group }
  }
}
