/// SPIR-V opcodes Tessera emits (numbers from the SPIR-V 1.3 specification, section 3.52).
public enum SPIRVOp: UInt16, Sendable, CaseIterable {
  case name = 5, memberName = 6, extension_ = 10, extInstImport = 11, extInst = 12
  case memoryModel = 14, entryPoint = 15, executionMode = 16, capability = 17
  case typeVoid = 19, typeBool = 20, typeInt = 21, typeFloat = 22, typeVector = 23
  case typeArray = 28, typeRuntimeArray = 29, typeStruct = 30, typePointer = 32, typeFunction = 33
  case constantTrue = 41, constantFalse = 42, constant = 43
  case function = 54, functionEnd = 56, variable = 59, load = 61, store = 62, accessChain = 65
  case decorate = 71, memberDecorate = 72
  case compositeConstruct = 80, compositeExtract = 81
  case convertFToS = 110, convertSToF = 111, uConvert = 113, sConvert = 114
  case bitcast = 124, sNegate = 126, fNegate = 127
  case iAdd = 128, fAdd = 129, iSub = 130, fSub = 131, iMul = 132, fMul = 133
  case sDiv = 135, fDiv = 136, sRem = 138, fRem = 140
  case isNan = 156
  case logicalEqual = 164, logicalNotEqual = 165, logicalOr = 166, logicalAnd = 167, logicalNot = 168
  case select = 169, iEqual = 170, iNotEqual = 171, sGreaterThan = 173, sGreaterThanEqual = 175
  case sLessThan = 177, sLessThanEqual = 179
  case fOrdEqual = 180, fUnordNotEqual = 183, fOrdLessThan = 184, fOrdGreaterThan = 186
  case fOrdLessThanEqual = 188, fOrdGreaterThanEqual = 190
  case shiftRightLogical = 194, shiftRightArithmetic = 195, shiftLeftLogical = 196
  case bitwiseOr = 197, bitwiseXor = 198, bitwiseAnd = 199, not = 200
  case bitFieldSExtract = 202, bitFieldUExtract = 203
  case controlBarrier = 224, atomicAnd = 240, atomicOr = 241
  case loopMerge = 246, selectionMerge = 247, label = 248, branch = 249, branchConditional = 250
  case return_ = 253
  case groupNonUniformFAdd = 350

  /// The name in the specification, e.g. `OpIAdd`.
  public var mnemonic: String {
    let base = String(describing: self).replacingOccurrences(of: "_", with: "")
    return "Op" + base.prefix(1).uppercased() + base.dropFirst()
  }
}

/// Enumerant values from the SPIR-V and GLSL.std.450 specifications that Tessera uses.
public enum SPIRV {
  /// The magic number that starts every module.
  public static let magic: UInt32 = 0x0723_0203
  /// SPIR-V 1.3, the version Vulkan 1.1 consumes.
  public static let version13: UInt32 = 0x0001_0300

  /// Capabilities.
  public enum Capability: UInt32, Sendable {
    case shader = 1, int64 = 11, groupNonUniform = 61, groupNonUniformArithmetic = 63
  }

  /// Storage classes.
  public enum StorageClass: UInt32, Sendable, Hashable {
    case input = 1, workgroup = 4, function = 7, pushConstant = 9, storageBuffer = 12
  }

  /// Decorations.
  public enum Decoration: UInt32, Sendable {
    case specId = 1, block = 2, arrayStride = 6, builtIn = 11, aliased = 20, nonWritable = 24
    case binding = 33, descriptorSet = 34, offset = 35
  }

  /// Built-in variables of a compute shader.
  public enum BuiltIn: UInt32, Sendable {
    case numWorkgroups = 24, workgroupId = 26, localInvocationId = 27, globalInvocationId = 28
  }

  /// Memory scopes.
  public enum Scope: UInt32, Sendable {
    case device = 1, workgroup = 2, subgroup = 3
  }

  /// Group operations of the `OpGroupNonUniform…` arithmetic instructions.
  public enum GroupOperation: UInt32, Sendable {
    case reduce = 0
  }

  /// Memory semantics bits.
  public enum MemorySemantics {
    /// No ordering.
    public static let relaxed: UInt32 = 0
    /// Acquire and release.
    public static let acquireRelease: UInt32 = 0x8
    /// Applies to workgroup memory.
    public static let workgroupMemory: UInt32 = 0x100
  }

  /// The GLCompute execution model.
  public static let glCompute: UInt32 = 5
  /// The LocalSize execution mode.
  public static let localSize: UInt32 = 17

  /// GLSL.std.450 extended instructions.
  public enum GLSL: UInt32, Sendable {
    case fAbs = 4, sAbs = 5, floor = 8, sin = 13, cos = 14, tanh = 21, pow = 26, exp = 27, log = 28
    case sqrt = 31, inverseSqrt = 32, fMax = 40, fMin = 37, fma = 50, packHalf2x16 = 58, unpackHalf2x16 = 62
  }
}
