import TesseraCompiler
import TesseraIR

/// Why a kernel could not be turned into SPIR-V.
public struct SPIRVCodegenError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The kernel.
  public var kernel: String
  /// What it uses that the generator or the device cannot express.
  public var detail: String
  /// `kernel @name: detail`.
  public var description: String { "cannot generate SPIR-V for kernel @\(kernel): \(detail)" }
}

/// Turns a Kernel IR kernel into a Vulkan compute shader module.
///
/// Layout of the module: descriptor set 0, binding `i` is buffer `i` of the kernel, each a
/// storage buffer of 32-bit words (`uint[]`), so every element type — f16, bf16, i8, u8, bool,
/// i64 and the GGUF block formats — is read from words and needs no 8/16-bit storage feature;
/// narrow stores merge into their word with atomic and/or, because neighbouring elements belong
/// to other work-items. Runtime scalars are push constants, 4 bytes each in declaration order.
/// Values are kept in 32-bit registers (f16/bf16 in f32, i8/u8 in i32) and rounded to their
/// type after every instruction, as the KIR interpreter does; vectors are scalarised into one
/// register per lane. The entry point is `main`.
///
/// A module generated with `splitLaunch` serves a launch cut into several dispatches (more
/// workgroups than `maxComputeWorkGroupCount` allows): six more 32-bit push constants after the
/// scalars hold the dispatch's first workgroup (x, y, z) and the whole launch's workgroup counts
/// (x, y, z); the group and global ids add the first workgroup, the group count is the launch's.
public enum SPIRVCodegen {
  /// Generates the module for `kernel`; buffers listed in `aliased` may share memory with
  /// another of the kernel's buffers in a launch (in-place updates) and are decorated `Aliased`.
  public static func generate(_ kernel: Kernel, aliased: Set<Int> = [], splitLaunch: Bool = false)
    throws(SPIRVCodegenError) -> SPIRVModule
  {
    var generator = KernelTranslator(kernel: kernel, aliased: aliased, splitLaunch: splitLaunch)
    return try generator.translate()
  }

  /// Push-constant words after the scalars in a `splitLaunch` module.
  public static let splitLaunchWords = 6
}

/// The state of one translation: the builder and the ids of every KIR value and variable.
struct KernelTranslator {
  let kernel: Kernel
  let b = SPIRVBuilder()
  let glsl: UInt32
  var values: [Int: [UInt32]] = [:]
  var variables: [Int: [UInt32]] = [:]
  var buffers: [UInt32] = []
  var shared: [UInt32] = []
  var pushConstants: UInt32?
  var builtins: [KBuiltin: UInt32] = [:]
  let splitLaunch: Bool

  init(kernel: Kernel, aliased: Set<Int>, splitLaunch: Bool) {
    self.kernel = kernel
    self.splitLaunch = splitLaunch
    b.capability(.shader)
    glsl = b.importInstructionSet("GLSL.std.450")
    let words = SPIRVType.block([.runtimeArray(.u32, stride: 4)], offsets: [0])
    for (index, buffer) in kernel.buffers.enumerated() {
      let variable = b.globalVariable(words, .storageBuffer)
      b.decorate(variable, .descriptorSet, 0)
      b.decorate(variable, .binding, UInt32(index))
      if aliased.contains(index) { b.decorate(variable, .aliased) }
      b.name(variable, buffer.name)
      buffers.append(variable)
    }
    let launchWords = splitLaunch ? SPIRVCodegen.splitLaunchWords : 0
    if !kernel.scalars.isEmpty || splitLaunch {
      let members = kernel.scalars.map { Self.register($0.dtype) } + Array(repeating: .u32, count: launchWords)
      let offsets = (0..<(kernel.scalars.count + launchWords)).map { UInt32($0 * 4) }
      pushConstants = b.globalVariable(.block(members, offsets: offsets), .pushConstant)
    }
  }

  func fail(_ detail: String) -> SPIRVCodegenError { SPIRVCodegenError(kernel: kernel.name, detail: detail) }

  /// The register type holding a KIR scalar dtype.
  static func register(_ dtype: DType) -> SPIRVType {
    switch dtype {
    case .f32, .f16, .bf16: .f32
    case .i64: .i64
    case .bool: .bool
    default: .i32
    }
  }

  mutating func translate() throws(SPIRVCodegenError) -> SPIRVModule {
    for value in kernel.valueTypes where value.scalar.isQuantized {
      throw fail("a value of quantized type \(value)")
    }
    guard (1...3).contains(kernel.workgroupSize.count), kernel.workgroupSize.allSatisfy({ $0 >= 1 }) else {
      throw fail("workgroup size \(kernel.workgroupSize) (1 to 3 positive dimensions)")
    }
    for (index, array) in kernel.shared.enumerated() {
      shared.append(b.globalVariable(.array(Self.register(array.dtype), count: UInt32(array.count)), .workgroup))
      b.name(shared[index], array.name)
    }
    try block(kernel.body)
    let function = b.makeID()
    // No OpName for the function: the kernel's name would make the modules of identical kernels differ
    // (k12_add, k47_add, …), and each would be compiled again by the driver.
    let size = (kernel.workgroupSize + [1, 1]).prefix(3).map { UInt32($0) }
    b.entryPoint(function, name: "main", interface: Array(builtins.values).sorted(), localSize: size)
    return b.finish(function: function)
  }

  mutating func block(_ instructions: [KInstruction]) throws(SPIRVCodegenError) {
    for instruction in instructions { try translate(instruction) }
  }

  /// The register type of a KIR value's lanes.
  func register(_ value: KValue) -> SPIRVType { Self.register(kernel.type(of: value).scalar) }

  func lanes(_ value: KValue) -> Int { kernel.type(of: value).lanes }

  /// Lane `k` of `value`; scalars broadcast.
  func get(_ value: KValue, _ k: Int = 0) -> UInt32 {
    let ids = values[value.id]!
    return ids.count == 1 ? ids[0] : ids[k]
  }

  /// Defines `r` lane by lane with `compute(k)`, rounded to `r`'s type.
  mutating func define(_ r: KValue, _ compute: (inout KernelTranslator, Int) throws(SPIRVCodegenError) -> UInt32)
    throws(SPIRVCodegenError)
  {
    var ids: [UInt32] = []
    for k in 0..<lanes(r) { ids.append(round(try compute(&self, k), to: kernel.type(of: r).scalar)) }
    values[r.id] = ids
  }

  mutating func translate(_ instruction: KInstruction) throws(SPIRVCodegenError) {
    switch instruction {
    case .constant(let r, let value):
      let id = constant(value, kernel.type(of: r).scalar)
      values[r.id] = Array(repeating: id, count: lanes(r))
    case .builtin(let r, let builtin, let dimension):
      values[r.id] = [builtinValue(builtin, dimension)]
    case .scalarArgument(let r, let name):
      guard let index = kernel.scalars.firstIndex(where: { $0.name == name }), let block = pushConstants else {
        throw fail("unknown scalar $\(name)")
      }
      let type = register(r)
      let pointer = b.emit(.accessChain, .pointer(type, .pushConstant), [.id(block), .id(b.int32(Int32(index)))])
      values[r.id] = [b.emit(.load, type, [.id(pointer)])]
    case .unary(let r, let op, let a):
      let dtype = kernel.type(of: a).scalar
      try define(r) { t, k throws(SPIRVCodegenError) in try t.unary(op, t.get(a, k), dtype) }
    case .binary(let r, let op, let a, let c):
      let dtype = kernel.type(of: a).scalar
      try define(r) { t, k throws(SPIRVCodegenError) in try t.binary(op, t.get(a, k), t.get(c, k), dtype) }
    case .mulAdd(let r, let a, let factor, let addend):
      try define(r) { t, k in t.ext(.fma, .f32, t.get(a, k), t.get(factor, k), t.get(addend, k)) }
    case .compare(let r, let kind, let a, let c):
      let dtype = kernel.type(of: a).scalar
      try define(r) { t, k in t.compare(kind, t.get(a, k), t.get(c, k), dtype) }
    case .select(let r, let condition, let a, let c):
      let type = register(r)
      try define(r) { t, k in t.b.emit(.select, type, [.id(t.get(condition, k)), .id(t.get(a, k)), .id(t.get(c, k))]) }
    case .cast(let r, let a):
      let (from, to) = (kernel.type(of: a).scalar, kernel.type(of: r).scalar)
      try define(r) { t, k in t.cast(t.get(a, k), from: from, to: to) }
    case .splat(let r, let a):
      values[r.id] = Array(repeating: get(a), count: lanes(r))
    case .extract(let r, let a, let lane):
      values[r.id] = [get(a, lane)]
    case .reduceLanes(let r, let op, let a):
      let dtype = kernel.type(of: a).scalar
      var total = get(a, 0)
      for k in 1..<max(1, lanes(a)) { total = round(try binary(op, total, get(a, k), dtype), to: dtype) }
      values[r.id] = [total]
    case .load(let r, let buffer, let index):
      let dtype = kernel.buffers[buffer].dtype
      try define(r) { t, k in t.loadElement(buffer, t.offset(t.get(index), by: k), dtype) }
    case .loadDequantized(let r, let buffer, let index):
      values[r.id] = try loadDequantized(buffer, get(index), kernel.buffers[buffer].dtype, lanes: lanes(r))
    case .store(let buffer, let index, let value):
      let dtype = kernel.buffers[buffer].dtype
      for k in 0..<lanes(value) { storeElement(buffer, offset(get(index), by: k), get(value, k), dtype) }
    case .loadShared(let r, let array, let index):
      let type = register(r)
      let pointer = b.emit(.accessChain, .pointer(type, .workgroup), [.id(shared[array]), .id(get(index))])
      values[r.id] = [b.emit(.load, type, [.id(pointer)])]
    case .storeShared(let array, let index, let value):
      let type = Self.register(kernel.shared[array].dtype)
      let pointer = b.emit(.accessChain, .pointer(type, .workgroup), [.id(shared[array]), .id(get(index))])
      b.emit(.store, [.id(pointer), .id(get(value))])
    case .declare(let variable, let initial):
      let type = kernel.variableTypes[variable.id]
      variables[variable.id] = (0..<type.lanes).map { _ in b.functionVariable(Self.register(type.scalar)) }
      fallthrough
    case .write(let variable, let initial):
      for (k, pointer) in variables[variable.id]!.enumerated() { b.emit(.store, [.id(pointer), .id(get(initial, k))]) }
    case .read(let r, let variable):
      let type = register(r)
      values[r.id] = variables[variable.id]!.map { b.emit(.load, type, [.id($0)]) }
    case .loop(let index, let start, let end, let step, let body):
      try loop(index, start, end, step, body)
    case .conditional(let condition, let then, let otherwise):
      try conditional(get(condition), then, otherwise)
    case .barrier:
      let workgroup = b.uint32(SPIRV.Scope.workgroup.rawValue)
      let semantics = b.uint32(SPIRV.MemorySemantics.acquireRelease | SPIRV.MemorySemantics.workgroupMemory)
      b.emit(.controlBarrier, [.id(workgroup), .id(workgroup), .id(semantics)])
    case .subgroupAdd(let r, let a):
      b.capability(.groupNonUniform)
      b.capability(.groupNonUniformArithmetic)
      let scope = b.uint32(SPIRV.Scope.subgroup.rawValue)
      values[r.id] = [
        b.emit(
          .groupNonUniformFAdd, .f32, [.id(scope), .literal(SPIRV.GroupOperation.reduce.rawValue), .id(get(a))])
      ]
    }
  }

  /// `index + k` for lane `k` of a vector access.
  mutating func offset(_ index: UInt32, by k: Int) -> UInt32 {
    k == 0 ? index : b.emit(.iAdd, .i32, [.id(index), .id(b.int32(Int32(k)))])
  }

  /// A constant of `dtype` with the value rounded as the interpreter rounds it.
  func constant(_ value: Double, _ dtype: DType) -> UInt32 {
    switch Self.register(dtype) {
    case .f32: return b.float32(Float(dtype == .f32 ? value : dtype.rounded(value)))
    case .bool: return b.constant(value != 0)
    case .i64:
      let bits = UInt64(bitPattern: Self.clampedInt64(value))
      return b.constant(.i64, bits: [UInt32(truncatingIfNeeded: bits), UInt32(truncatingIfNeeded: bits >> 32)])
    default:
      return b.int32(Int32(truncatingIfNeeded: Self.clampedInt64(dtype.rounded(value))))
    }
  }

  static func clampedInt64(_ value: Double) -> Int64 {
    if value.isNaN { return 0 }
    if value >= 9.223372036854775807e18 { return .max }
    if value <= -9.223372036854775808e18 { return .min }
    return Int64(value.rounded(.towardZero))
  }

  /// The i32 value of a built-in index along `dimension`, offset for a split launch.
  mutating func builtinValue(_ builtin: KBuiltin, _ dimension: Int) -> UInt32 {
    guard splitLaunch, builtin != .localID else { return bitcast(builtinComponent(builtin, dimension)) }
    let count = kernel.scalars.count
    switch builtin {
    case .groupCount: return bitcast(launchWord(count + 3 + dimension))
    case .groupID:
      return bitcast(
        b.emit(.iAdd, .u32, [.id(builtinComponent(.groupID, dimension)), .id(launchWord(count + dimension))]))
    default:
      let size = b.uint32(UInt32((kernel.workgroupSize + [1, 1])[dimension]))
      let first = b.emit(.iMul, .u32, [.id(launchWord(count + dimension)), .id(size)])
      return bitcast(b.emit(.iAdd, .u32, [.id(builtinComponent(builtin, dimension)), .id(first)]))
    }
  }

  /// Push-constant word `index` (u32) of a split launch's block.
  mutating func launchWord(_ index: Int) -> UInt32 {
    let pointer = b.emit(
      .accessChain, .pointer(.u32, .pushConstant), [.id(pushConstants!), .id(b.int32(Int32(index)))])
    return b.emit(.load, .u32, [.id(pointer)])
  }

  /// `value` (u32) as i32.
  func bitcast(_ value: UInt32) -> UInt32 { b.emit(.bitcast, .i32, [.id(value)]) }

  /// Component `dimension` (u32) of a built-in input vector.
  mutating func builtinComponent(_ builtin: KBuiltin, _ dimension: Int) -> UInt32 {
    let variable: UInt32
    if let known = builtins[builtin] {
      variable = known
    } else {
      variable = b.globalVariable(.vector(.u32, count: 3), .input)
      let decoration: SPIRV.BuiltIn =
        switch builtin {
        case .globalID: .globalInvocationId
        case .localID: .localInvocationId
        case .groupID: .workgroupId
        case .groupCount: .numWorkgroups
        }
      b.decorate(variable, .builtIn, decoration.rawValue)
      builtins[builtin] = variable
    }
    let vector = b.emit(.load, .vector(.u32, count: 3), [.id(variable)])
    return b.emit(.compositeExtract, .u32, [.id(vector), .literal(UInt32(dimension))])
  }

  /// `if condition { then } else { otherwise }` as a selection construct.
  mutating func conditional(_ condition: UInt32, _ then: [KInstruction], _ otherwise: [KInstruction])
    throws(SPIRVCodegenError)
  {
    let (thenLabel, elseLabel, merge) = (b.makeID(), b.makeID(), b.makeID())
    b.emit(.selectionMerge, [.id(merge), .literal(0)])
    b.emit(.branchConditional, [.id(condition), .id(thenLabel), .id(otherwise.isEmpty ? merge : elseLabel)])
    b.label(thenLabel)
    try block(then)
    b.emit(.branch, [.id(merge)])
    if !otherwise.isEmpty {
      b.label(elseLabel)
      try block(otherwise)
      b.emit(.branch, [.id(merge)])
    }
    b.label(merge)
  }

  /// `for index = start; index < end; index += step` as a loop construct; the index lives in a
  /// Function variable loaded at the top of each iteration.
  mutating func loop(_ index: KValue, _ start: KValue, _ end: KValue, _ step: Int, _ body: [KInstruction])
    throws(SPIRVCodegenError)
  {
    let counter = b.functionVariable(.i32)
    b.emit(.store, [.id(counter), .id(get(start))])
    let (header, check, bodyLabel, continueLabel, merge) = (b.makeID(), b.makeID(), b.makeID(), b.makeID(), b.makeID())
    b.emit(.branch, [.id(header)])
    b.label(header)
    b.emit(.loopMerge, [.id(merge), .id(continueLabel), .literal(0)])
    b.emit(.branch, [.id(check)])
    b.label(check)
    let current = b.emit(.load, .i32, [.id(counter)])
    let more = b.emit(.sLessThan, .bool, [.id(current), .id(get(end))])
    b.emit(.branchConditional, [.id(more), .id(bodyLabel), .id(merge)])
    b.label(bodyLabel)
    values[index.id] = [current]
    try block(body)
    b.emit(.branch, [.id(continueLabel)])
    b.label(continueLabel)
    let last = b.emit(.load, .i32, [.id(counter)])
    b.emit(.store, [.id(counter), .id(b.emit(.iAdd, .i32, [.id(last), .id(b.int32(Int32(step)))]))])
    b.emit(.branch, [.id(header)])
    b.label(merge)
  }
}
