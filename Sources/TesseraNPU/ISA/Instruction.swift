import TesseraIR

/// The units of the NPU core. Each runs its own in-order instruction queue; the scalar unit
/// fetches the program and dispatches every other instruction to its unit's queue.
public enum NPUUnit: UInt8, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  /// Loops, address arithmetic, dispatch.
  case scalar
  /// DMA from global memory into L1 or UB.
  case mte2
  /// DMA from L1 into the cube operand buffers L0A/L0B.
  case mte1
  /// The 16x16x16 matrix multiply-accumulate unit.
  case cube
  /// DMA out of the accumulators L0C into UB, converting on the way.
  case fixp
  /// SIMD over UB.
  case vector
  /// DMA from UB to global memory.
  case mte3

  /// The assembly spelling.
  public var description: String { ["scalar", "mte2", "mte1", "cube", "fixp", "vector", "mte3"][Int(rawValue)] }
}

/// The memories of the core: global memory and the on-chip buffers.
public enum NPUMemory: UInt8, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  /// Global memory (device DRAM).
  case gm
  /// The L1 buffer, staging cube operands.
  case l1
  /// The left cube operand buffer.
  case l0a
  /// The right cube operand buffer.
  case l0b
  /// The cube accumulators.
  case l0c
  /// The unified buffer the vector unit computes in.
  case ub

  /// Its name.
  public var description: String { ["gm", "l1", "l0a", "l0b", "l0c", "ub"][Int(rawValue)] }
}

/// Element types a DMA reads or writes (and the cube's operand types).
public enum NPUElement: UInt8, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  case f32, f16, i8, i32

  /// Bytes per element.
  public var bytes: Int { [4, 2, 1, 4][Int(rawValue)] }
  /// The assembly spelling.
  public var description: String { ["f32", "f16", "i8", "i32"][Int(rawValue)] }
}

/// The paths a DMA takes, each owned by one mover unit. The strided side (the descriptor's
/// counts and strides) is the source, except for `ub2gm`, where it is the destination.
public enum DMARoute: UInt8, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  case gm2l1, gm2ub, l12l0a, l12l0b, l0c2ub, ub2gm

  /// The unit that runs it.
  public var unit: NPUUnit {
    switch self {
    case .gm2l1, .gm2ub: .mte2
    case .l12l0a, .l12l0b: .mte1
    case .l0c2ub: .fixp
    case .ub2gm: .mte3
    }
  }
  /// Source and destination memories.
  public var memories: (source: NPUMemory, destination: NPUMemory) {
    switch self {
    case .gm2l1: (.gm, .l1)
    case .gm2ub: (.gm, .ub)
    case .l12l0a: (.l1, .l0a)
    case .l12l0b: (.l1, .l0b)
    case .l0c2ub: (.l0c, .ub)
    case .ub2gm: (.ub, .gm)
    }
  }
  /// The assembly spelling.
  public var description: String { ["gm2l1", "gm2ub", "l12l0a", "l12l0b", "l0c2ub", "ub2gm"][Int(rawValue)] }
}

/// Scalar register-register operations.
public enum ScalarOp: UInt8, CaseIterable, Sendable, Hashable {
  case add, sub, mul
}

/// Conditions of a conditional branch (signed comparisons).
public enum BranchCondition: UInt8, CaseIterable, Sendable, Hashable {
  case blt, bge, beq, bne
}

/// Two-input vector functions (f32 lanes).
public enum VectorBinary: UInt8, CaseIterable, Sendable, Hashable {
  case add, sub, mul, div, max, min, pow
}

/// One-input vector functions (f32 lanes). `round16` rounds each lane to the nearest fp16.
public enum VectorUnary: UInt8, CaseIterable, Sendable, Hashable {
  case neg, abs, exp, ln, sqrt, rsqrt, rec, tanh, sin, cos, erf, relu, round16

  /// Issue passes per element group: transcendental functions take several.
  var passes: Int {
    switch self {
    case .neg, .abs, .relu, .round16: 1
    default: 4
    }
  }
}

/// Row reductions (f32 lanes). `argmax` leaves the index of the row's first maximal lane (the
/// first NaN if there is one) as an f32, exact below 2^24.
public enum VectorReduction: UInt8, CaseIterable, Sendable, Hashable {
  case sum, max, min, argmax

  /// Issue passes over the row: `argmax` tracks the value and its index.
  var passes: Int { self == .argmax ? 2 : 1 }
}

/// Lane comparisons (IEEE: false for NaN operands except `ne`); a lane is 1.0 where the
/// comparison holds and 0.0 elsewhere.
public enum VectorComparison: UInt8, CaseIterable, Sendable, Hashable {
  case lt, le, gt, ge, eq, ne

  /// The IR comparison this instruction computes (same name, same IEEE semantics).
  public var relation: CompareKind { CompareKind(rawValue: "\(self)")! }
}

/// The GGUF block formats the vector unit dequantizes: every ``BlockFormat`` (the first three
/// keep their original encodings).
public enum QuantFormat: UInt8, CaseIterable, Sendable, Hashable, CustomStringConvertible {
  case q4_0, q4_1, q8_0, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k

  /// The format for a block-quantized dtype.
  public init?(_ dtype: DType) {
    guard let format = Self.allCases.first(where: { $0.dtype == dtype }) else { return nil }
    self = format
  }

  /// The IR dtype.
  public var dtype: DType {
    [DType.q4_0, .q4_1, .q8_0, .q5_0, .q5_1, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k][Int(rawValue)]
  }
  /// The block layout and decode.
  public var format: BlockFormat { dtype.blockFormat! }
  /// Bytes per block.
  public var blockBytes: Int { format.bytes }
  /// Elements per block (32, or 256 for the K-quants).
  public var blockElements: Int { format.elements }
  /// The assembly spelling.
  public var description: String { dtype.rawValue }
}

/// A scalar register, `x0` … `x31`; `x0` always reads 0.
public typealias Register = UInt8

/// One NPU instruction. Operands are registers except immediates and flag ids; see
/// docs/npu-isa.md for every field and its encoding.
public enum Instruction: Hashable, Sendable {
  /// `li rd, imm`: rd = imm (sign-extended 32 bits).
  case li(rd: Register, imm: Int32)
  /// `ldg rd, rs, imm`: rd = the little-endian i32 at global-memory byte address rs + imm,
  /// sign-extended (a run-time row index or start); the scalar unit waits for the word.
  case loadGlobal(rd: Register, rs: Register, imm: Int32)
  /// `addi rd, rs, imm`: rd = rs + imm.
  case addi(rd: Register, rs: Register, imm: Int32)
  /// `add|sub|mul rd, ra, rb`.
  case alu(ScalarOp, rd: Register, ra: Register, rb: Register)
  /// `blt|bge|beq|bne ra, rb, target`: branch to the absolute instruction index.
  case branch(BranchCondition, ra: Register, rb: Register, target: Int32)
  /// `jmp target`.
  case jump(target: Int32)
  /// `halt`: the program ends once every unit is idle.
  case halt
  /// `trap code`: stops the program with a fault naming `code` (``Instruction/trapMeanings``).
  case trap(code: Int32)
  /// `set_flag from, to, id`: queued on `from`; when every earlier `from` instruction has
  /// completed, flag (from, to, id) is raised (flags count).
  case setFlag(from: NPUUnit, to: NPUUnit, id: UInt8)
  /// `wait_flag from, to, id`: queued on `to`; `to` stalls until the flag is raised, then lowers it.
  case waitFlag(from: NPUUnit, to: NPUUnit, id: UInt8)
  /// `barrier`: the scalar unit waits until every queue is empty and every unit idle.
  case barrier
  /// `dma.route.from.to xd`: a 4-D strided copy described by registers xd…xd+9:
  /// destination address, source address, then (count, stride) for dims 0…3, innermost last.
  /// Addresses are bytes; strides are elements of the strided side.
  case dma(DMARoute, from: NPUElement, to: NPUElement, descriptor: Register)
  /// `mmad.f16|i8[.acc] xc, xa, xb, xm, xk, xn`: C[m,n] (+)= A[m,k] · B[k,n], row-major in
  /// L0C, L0A, L0B; fp16 → fp32 or int8 → int32.
  case mmad(NPUElement, accumulate: Bool, c: Register, a: Register, b: Register, m: Register, k: Register, n: Register)
  /// `vadd … xd, xa, xb, xn`: n lanes of a binary function over UB.
  case vbinary(VectorBinary, d: Register, a: Register, b: Register, n: Register)
  /// `vexp … xd, xa, xn`.
  case vunary(VectorUnary, d: Register, a: Register, n: Register)
  /// `vdup xd, xbits, xn`: n lanes of the f32 whose bit pattern is in xbits.
  case vdup(d: Register, bits: Register, n: Register)
  /// `vredsum|vredmax|vredmin|vredargmax xd, xa, xrows, xcols`: one result per row.
  case vreduce(VectorReduction, d: Register, a: Register, rows: Register, cols: Register)
  /// `vcmp.lt|le|gt|ge|eq|ne xd, xa, xb, xn`: n lanes of 1.0 where a[i] op b[i] holds, else 0.0.
  case vcompare(VectorComparison, d: Register, a: Register, b: Register, n: Register)
  /// `vsel xd, xm, xa, xb, xn`: n lanes of a[i] where m[i] is not 0.0, else b[i].
  case vselect(d: Register, mask: Register, a: Register, b: Register, n: Register)
  /// `viota xd, xn`: n lanes of their own index, 0.0, 1.0, … (exact below 2^24).
  case viota(d: Register, n: Register)
  /// `vdeq.FORMAT xd, xa, xblocks`: `xblocks` GGUF blocks of FORMAT (`q4_0` … `q6_k`) at xa to f32 at xd.
  case vdequant(QuantFormat, d: Register, a: Register, blocks: Register)

  /// What each `trap` code the lowering emits means, for the fault message.
  public static let trapMeanings: [Int32: String] = [1: "a run-time index or start is outside its tensor"]

  /// The unit that executes it.
  public var unit: NPUUnit {
    switch self {
    case .li, .loadGlobal, .addi, .alu, .branch, .jump, .halt, .trap, .barrier: .scalar
    case .setFlag(let from, _, _): from
    case .waitFlag(_, let to, _): to
    case .dma(let route, _, _, _): route.unit
    case .mmad: .cube
    case .vbinary, .vunary, .vdup, .vreduce, .vdequant, .vcompare, .vselect, .viota: .vector
    }
  }
}
