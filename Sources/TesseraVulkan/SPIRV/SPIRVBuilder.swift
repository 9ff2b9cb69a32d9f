/// Builds one SPIR-V module: allocates ids, deduplicates types and constants, and keeps every
/// instruction in the section the specification's logical layout puts it in (2.4).
///
/// Function code is appended to ``body`` by the caller; variables of Function storage go to
/// ``functionVariables`` because they must open the function's first block.
public final class SPIRVBuilder {
  private var nextID: UInt32 = 1
  private var capabilities: [SPIRVInstruction] = []
  private var imports: [SPIRVInstruction] = []
  private var entryPoints: [SPIRVInstruction] = []
  private var executionModes: [SPIRVInstruction] = []
  private var debugNames: [SPIRVInstruction] = []
  private var annotations: [SPIRVInstruction] = []
  private var globals: [SPIRVInstruction] = []
  private var types: [SPIRVType: UInt32] = [:]
  private var constants: [[UInt32]: UInt32] = [:]
  private var declaredCapabilities: Set<UInt32> = []
  /// Function-storage variables of the function being built.
  public var functionVariables: [SPIRVInstruction] = []
  /// Instructions of the function being built, after its first label.
  public var body: [SPIRVInstruction] = []

  /// Creates an empty module builder.
  public init() {}

  /// A fresh id.
  public func makeID() -> UInt32 {
    defer { nextID += 1 }
    return nextID
  }

  /// Declares a capability once.
  public func capability(_ capability: SPIRV.Capability) {
    guard declaredCapabilities.insert(capability.rawValue).inserted else { return }
    capabilities.append(SPIRVInstruction(.capability, [.literal(capability.rawValue)]))
  }

  /// Imports an extended instruction set such as `GLSL.std.450`; returns its id.
  public func importInstructionSet(_ name: String) -> UInt32 {
    let id = makeID()
    imports.append(SPIRVInstruction(.extInstImport, result: id, [.string(name)]))
    return id
  }

  /// Declares a GLCompute entry point with its local size; `interface` lists the Input variables.
  public func entryPoint(_ function: UInt32, name: String, interface: [UInt32], localSize: [UInt32]) {
    entryPoints.append(
      SPIRVInstruction(
        .entryPoint, [.literal(SPIRV.glCompute), .id(function), .string(name)] + interface.map { .id($0) }))
    executionModes.append(
      SPIRVInstruction(.executionMode, [.id(function), .literal(SPIRV.localSize)] + localSize.map { .literal($0) }))
  }

  /// Attaches a debug name.
  public func name(_ id: UInt32, _ text: String) {
    debugNames.append(SPIRVInstruction(.name, [.id(id), .string(text)]))
  }

  /// Decorates an id.
  public func decorate(_ id: UInt32, _ decoration: SPIRV.Decoration, _ literals: UInt32...) {
    annotations.append(
      SPIRVInstruction(.decorate, [.id(id), .literal(decoration.rawValue)] + literals.map { .literal($0) }))
  }

  /// The id of `type`, declared (with its decorations) on first use.
  public func type(_ type: SPIRVType) -> UInt32 {
    if let known = types[type] { return known }
    let operands: [SPIRVOperand]
    let op: SPIRVOp
    switch type {
    case .void: (op, operands) = (.typeVoid, [])
    case .bool: (op, operands) = (.typeBool, [])
    case .int(let width, let signed):
      if width == 64 { capability(.int64) }
      (op, operands) = (.typeInt, [.literal(width), .literal(signed ? 1 : 0)])
    case .float(let width): (op, operands) = (.typeFloat, [.literal(width)])
    case .vector(let element, let count): (op, operands) = (.typeVector, [.id(self.type(element)), .literal(count)])
    case .array(let element, let count):
      (op, operands) = (.typeArray, [.id(self.type(element)), .id(constant(.u32, bits: [count]))])
    case .runtimeArray(let element, _): (op, operands) = (.typeRuntimeArray, [.id(self.type(element))])
    case .block(let members, _): (op, operands) = (.typeStruct, members.map { .id(self.type($0)) })
    case .pointer(let pointee, let storage):
      (op, operands) = (.typePointer, [.literal(storage.rawValue), .id(self.type(pointee))])
    case .function(let returns, let parameters):
      (op, operands) = (.typeFunction, ([returns] + parameters).map { .id(self.type($0)) })
    }
    let id = makeID()
    globals.append(SPIRVInstruction(op, result: id, operands))
    types[type] = id
    switch type {
    case .runtimeArray(_, let stride): decorate(id, .arrayStride, stride)
    case .block(_, let offsets):
      decorate(id, .block)
      for (member, offset) in offsets.enumerated() {
        annotations.append(
          SPIRVInstruction(
            .memberDecorate,
            [.id(id), .literal(UInt32(member)), .literal(SPIRV.Decoration.offset.rawValue), .literal(offset)]))
      }
    default: break
    }
    return id
  }

  /// A constant of a numeric `type` with the given bit words (low word first), deduplicated.
  public func constant(_ type: SPIRVType, bits: [UInt32]) -> UInt32 {
    let typeID = self.type(type)
    let key = [typeID] + bits
    if let known = constants[key] { return known }
    let id = makeID()
    globals.append(SPIRVInstruction(.constant, type: typeID, result: id, bits.map { .literal($0) }))
    constants[key] = id
    return id
  }

  /// The boolean constant `value`, deduplicated.
  public func constant(_ value: Bool) -> UInt32 {
    let typeID = type(.bool)
    let key = [typeID, value ? 1 : 0, 0xFFFF_FFFF]
    if let known = constants[key] { return known }
    let id = makeID()
    globals.append(SPIRVInstruction(value ? .constantTrue : .constantFalse, type: typeID, result: id))
    constants[key] = id
    return id
  }

  /// A 32-bit signed integer constant.
  public func int32(_ value: Int32) -> UInt32 { constant(.i32, bits: [UInt32(bitPattern: value)]) }
  /// A 32-bit unsigned integer constant.
  public func uint32(_ value: UInt32) -> UInt32 { constant(.u32, bits: [value]) }
  /// A 32-bit float constant.
  public func float32(_ value: Float) -> UInt32 { constant(.f32, bits: [value.bitPattern]) }

  /// A module-scope variable (Input, Workgroup, PushConstant or StorageBuffer).
  public func globalVariable(_ pointee: SPIRVType, _ storage: SPIRV.StorageClass) -> UInt32 {
    let id = makeID()
    globals.append(
      SPIRVInstruction(.variable, type: type(.pointer(pointee, storage)), result: id, [.literal(storage.rawValue)]))
    return id
  }

  /// A Function-storage variable of the function being built.
  public func functionVariable(_ pointee: SPIRVType) -> UInt32 {
    let id = makeID()
    functionVariables.append(
      SPIRVInstruction(
        .variable, type: type(.pointer(pointee, .function)), result: id,
        [.literal(SPIRV.StorageClass.function.rawValue)]))
    return id
  }

  /// Appends an instruction with a result of `type` to the function body; returns the result id.
  @discardableResult
  public func emit(_ op: SPIRVOp, _ type: SPIRVType, _ operands: [SPIRVOperand]) -> UInt32 {
    let id = makeID()
    body.append(SPIRVInstruction(op, type: self.type(type), result: id, operands))
    return id
  }

  /// Appends an instruction without a result to the function body.
  public func emit(_ op: SPIRVOp, _ operands: [SPIRVOperand]) {
    body.append(SPIRVInstruction(op, operands))
  }

  /// Starts a block with `label`.
  public func label(_ label: UInt32) {
    body.append(SPIRVInstruction(.label, result: label))
  }

  /// Wraps ``functionVariables`` and ``body`` into a `void()` function with id `function` and
  /// returns the finished module.
  public func finish(function: UInt32) -> SPIRVModule {
    let voidType = type(.void)
    let functionType = type(.function(returns: .void, parameters: []))
    let entry = makeID()
    let code =
      [
        SPIRVInstruction(.function, type: voidType, result: function, [.literal(0), .id(functionType)]),
        SPIRVInstruction(.label, result: entry),
      ] + functionVariables + body + [SPIRVInstruction(.return_), SPIRVInstruction(.functionEnd)]
    let memoryModel = SPIRVInstruction(.memoryModel, [.literal(0), .literal(1)])  // Logical, GLSL450
    let instructions =
      capabilities + imports + [memoryModel] + entryPoints + executionModes + debugNames + annotations + globals + code
    return SPIRVModule(bound: nextID, instructions: instructions)
  }
}

/// A finished SPIR-V module.
public struct SPIRVModule: Hashable, Sendable {
  /// One more than the largest id.
  public var bound: UInt32
  /// Every instruction in logical-layout order.
  public var instructions: [SPIRVInstruction]

  /// The binary: the five-word header (magic, version 1.3, generator 0, bound, schema 0), then
  /// every instruction.
  public var words: [UInt32] {
    [SPIRV.magic, SPIRV.version13, 0, bound, 0] + instructions.flatMap(\.words)
  }

  /// The binary as little-endian bytes (what a `.spv` file holds).
  public var bytes: [UInt8] {
    words.flatMap { word in (0..<4).map { UInt8(truncatingIfNeeded: word >> (8 * $0)) } }
  }

  /// A text form in the style of `spirv-dis` (`tessera compile --emit spirv-asm`).
  public var assembly: String {
    let header = "; SPIR-V\n; Version: 1.3\n; Generator: Tessera\n; Bound: \(bound)\n; Schema: 0\n"
    return header + instructions.map { ($0.op == .label ? "" : "  ") + $0.assembly }.joined(separator: "\n") + "\n"
  }
}
