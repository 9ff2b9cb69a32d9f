import TesseraCompiler
import TesseraIR

/// Writes one kernel's OpenCL C function, instruction by instruction.
struct OpenCLKernelWriter {
  let kernel: Kernel
  let types: OpenCLTypes
  private var lines: [String] = []
  private var indent = "  "
  private let buffers: [String]
  private let scalars: [String: String]
  private let shared: [String]
  /// Whether the body calls a sub-group function (the program then enables `cl_khr_subgroups`).
  private var usesSubgroups = false

  init(kernel: Kernel, types: OpenCLTypes) {
    self.kernel = kernel
    self.types = types
    buffers = kernel.buffers.map { OpenCLCodegen.identifier($0.name) }
    scalars = Dictionary(
      kernel.scalars.map { ($0.name, OpenCLCodegen.identifier($0.name)) }, uniquingKeysWith: { first, _ in first })
    shared = kernel.shared.map { OpenCLCodegen.identifier($0.name) }
  }

  /// The kernel function with a comment naming it and what it computes.
  mutating func write() -> String {
    var header = ["// \(kernel.name)" + (kernel.comment.isEmpty ? "" : ": \(kernel.comment)")]
    header.append("// workgroup \(kernel.workgroupSize), global \(kernel.globalSize) rounded up to whole workgroups")
    var parameters: [String] = []
    for (buffer, name) in zip(kernel.buffers, buffers) {
      parameters.append("__global \(buffer.access == .read ? "const " : "")uchar* \(name)_base, uint \(name)_offset")
    }
    for scalar in kernel.scalars {
      parameters.append("const \(types.scalar(scalar.dtype)) \(scalars[scalar.name]!)")
    }
    let size = (kernel.workgroupSize + [1, 1]).prefix(3).map(String.init).joined(separator: ", ")
    header.append("__kernel __attribute__((reqd_work_group_size(\(size))))")
    header.append("void \(OpenCLCodegen.identifier(kernel.name))(\(parameters.joined(separator: ", "))) {")
    for (buffer, name) in zip(kernel.buffers, buffers) {
      let pointer = "__global \(buffer.access == .read ? "const " : "")\(types.storage(buffer.dtype))*"
      line("\(pointer) \(name) = (\(pointer))(\(name)_base + \(name)_offset);")
    }
    for (array, name) in zip(kernel.shared, shared) {
      line("__local \(types.scalar(array.dtype)) \(name)[\(array.count)];")
    }
    emit(kernel.body)
    if usesSubgroups { header.insert("#pragma OPENCL EXTENSION cl_khr_subgroups : enable", at: 0) }
    return (header + lines + ["}"]).joined(separator: "\n") + "\n"
  }

  private mutating func line(_ text: String) { lines.append(indent + text) }

  private func name(_ value: KValue) -> String { "v\(value.id)" }

  private func type(_ value: KValue) -> KType { kernel.type(of: value) }

  private mutating func define(_ result: KValue, _ expression: String) {
    line("const \(types.value(type(result))) \(name(result)) = \(expression);")
  }

  private mutating func emit(_ body: [KInstruction]) {
    for instruction in body { emit(instruction) }
  }

  private mutating func nested(_ body: [KInstruction]) {
    let outer = indent
    indent += "  "
    emit(body)
    indent = outer
  }

  private mutating func emit(_ instruction: KInstruction) {
    switch instruction {
    case .constant(let r, let value):
      define(r, types.literal(value, type(r)))
    case .builtin(let r, let builtin, let dimension):
      let function =
        switch builtin {
        case .globalID: "get_global_id"
        case .localID: "get_local_id"
        case .groupID: "get_group_id"
        case .groupCount: "get_num_groups"
        }
      define(r, "(int)\(function)(\(dimension))")
    case .scalarArgument(let r, let scalar):
      define(r, scalars[scalar]!)
    case .unary(let r, let op, let a):
      define(r, unary(op, name(a), type(a)))
    case .binary(let r, let op, let a, let b):
      define(r, binary(op, name(a), name(b), type(a)))
    case .mulAdd(let r, let a, let b, let c):
      define(r, "fma(\(name(a)), \(name(b)), \(name(c)))")
    case .compare(let r, let kind, let a, let b):
      let symbol = Self.comparison(kind)
      define(
        r,
        type(a).lanes == 1
          ? "(\(name(a)) \(symbol) \(name(b)))"
          : types.lanewise(type(r)) { "\(name(a))\(OpenCLTypes.lane($0)) \(symbol) \(name(b))\(OpenCLTypes.lane($0))" })
    case .select(let r, let c, let a, let b):
      define(
        r,
        type(r).lanes == 1
          ? "(\(name(c)) ? \(name(a)) : \(name(b)))"
          : types.lanewise(type(r)) {
            let lane = OpenCLTypes.lane($0)
            return "\(name(c))\(lane) ? \(name(a))\(lane) : \(name(b))\(lane)"
          })
    case .cast(let r, let a):
      define(r, cast(name(a), from: type(a), to: type(r)))
    case .splat(let r, let a):
      define(r, "((\(types.value(type(r))))(\(name(a))))")
    case .extract(let r, let a, let lane):
      define(r, name(a) + OpenCLTypes.lane(lane))
    case .reduceLanes(let r, let op, let a):
      let scalar = KType(type(a).scalar)
      define(r, pairwise((0..<type(a).lanes).map { name(a) + OpenCLTypes.lane($0) }) { binary(op, $0, $1, scalar) })
    case .load(let r, let buffer, let index):
      define(r, types.load(buffers[buffer], kernel.buffers[buffer].dtype, name(index), lanes: type(r).lanes))
    case .loadDequantized(let r, let buffer, let index):
      let dtype = kernel.buffers[buffer].dtype.rawValue, lanes = type(r).lanes
      switch lanes {
      case 1: define(r, "tessera_dequant_\(dtype)(\(buffers[buffer]), \(name(index)))")
      case 8, 16: define(r, "tessera_dequant\(lanes)_\(dtype)(\(buffers[buffer]), \(name(index)))")
      default:
        let elements = (0..<lanes).map { "tessera_dequant_\(dtype)(\(buffers[buffer]), \(name(index)) + \($0))" }
        define(r, "((\(types.value(type(r))))(\(elements.joined(separator: ", "))))")
      }
    case .store(let buffer, let index, let value):
      line(
        types.store(buffers[buffer], kernel.buffers[buffer].dtype, name(index), name(value), lanes: type(value).lanes))
    case .loadShared(let r, let array, let index):
      define(r, "\(shared[array])[\(name(index))]")
    case .storeShared(let array, let index, let value):
      line("\(shared[array])[\(name(index))] = \(types.rounded(name(value), kernel.shared[array].dtype));")
    case .declare(let variable, let initial):
      line("\(types.value(kernel.variableTypes[variable.id])) var\(variable.id) = \(name(initial));")
    case .read(let r, let variable):
      define(r, "var\(variable.id)")
    case .write(let variable, let value):
      line("var\(variable.id) = \(name(value));")
    case .loop(let index, let start, let end, let step, let body):
      let i = name(index)
      line("for (int \(i) = \(name(start)); \(i) < \(name(end)); \(i) += \(step)) {")
      nested(body)
      line("}")
    case .conditional(let condition, let then, let otherwise):
      line("if (\(name(condition))) {")
      nested(then)
      if !otherwise.isEmpty {
        line("} else {")
        nested(otherwise)
      }
      line("}")
    case .barrier:
      line("barrier(CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE);")
    case .subgroupAdd(let r, let a):
      usesSubgroups = true
      define(r, "sub_group_reduce_add(\(name(a)))")
    }
  }

  private static func comparison(_ kind: CompareKind) -> String {
    switch kind {
    case .lt: "<"
    case .le: "<="
    case .gt: ">"
    case .ge: ">="
    case .eq: "=="
    case .ne: "!="
    }
  }

  private func unary(_ op: KUnaryOp, _ x: String, _ type: KType) -> String {
    switch op {
    case .neg: return "(-\(x))"
    case .abs where type.scalar.isFloatingPoint: return "fabs(\(x))"
    case .abs where type.lanes == 1: return "(\(x) < 0 ? -\(x) : \(x))"
    case .abs:
      return types.lanewise(type) {
        let lane = x + OpenCLTypes.lane($0)
        return "(\(lane) < 0 ? -\(lane) : \(lane))"
      }
    case .reciprocal: return "(\(types.literal(1, KType(type.scalar))) / \(x))"
    case .exp, .log, .sqrt, .rsqrt, .tanh, .sin, .cos, .erf, .floor: return "\(op.rawValue)(\(x))"
    }
  }

  /// `op` on two operands of `type`; float max/min propagate NaN as KIR does.
  private func binary(_ op: KBinaryOp, _ x: String, _ y: String, _ type: KType) -> String {
    let isFloat = type.scalar.isFloatingPoint
    switch op {
    case .add: return "(\(x) + \(y))"
    case .sub: return "(\(x) - \(y))"
    case .mul: return "(\(x) * \(y))"
    case .div: return "(\(x) / \(y))"
    case .rem: return isFloat ? "fmod(\(x), \(y))" : "(\(x) % \(y))"
    case .and: return "(\(x) & \(y))"
    case .or: return "(\(x) | \(y))"
    case .max, .min, .pow:
      if type.lanes > 1 && (isFloat ? op != .pow : op == .pow) {
        return types.lanewise(type) {
          binary(op, x + OpenCLTypes.lane($0), y + OpenCLTypes.lane($0), KType(type.scalar))
        }
      }
      if op == .pow {
        return isFloat ? "pow(\(x), \(y))" : "((\(types.scalar(type.scalar)))tessera_ipow((long)\(x), (long)\(y)))"
      }
      guard isFloat else { return "\(op.rawValue)(\(x), \(y))" }
      return "(isnan(\(x)) || isnan(\(y)) ? \(x) + \(y) : f\(op.rawValue)(\(x), \(y)))"
    }
  }

  /// `terms` combined by `combine` as a halving tree (term `i` with term `i + half`, then again),
  /// so that a vector's lanes reduce in log2(lanes) dependent steps rather than lanes - 1.
  private func pairwise(_ terms: [String], _ combine: (String, String) -> String) -> String {
    guard terms.count > 1 else { return terms[0] }
    let half = (terms.count + 1) / 2
    return pairwise(
      (0..<half).map { i in i + half < terms.count ? combine(terms[i], terms[i + half]) : terms[i] }, combine)
  }

  /// A cast with KIR's meaning: to bool is `!= 0`; float to integer truncates toward zero,
  /// saturates at the 64-bit range (NaN gives 0) and wraps; casts to f16/bf16 round.
  private func cast(_ x: String, from source: KType, to target: KType) -> String {
    let to = target.scalar, from = source.scalar
    if to == from { return x }
    if to == .bool || (to.isInteger && from.isFloatingPoint) || types.needsRounding(to) {
      func one(_ x: String) -> String {
        if to == .bool { return "(\(x) != 0)" }
        if to.isInteger && from.isFloatingPoint { return "((\(types.scalar(to)))convert_long_sat(\(x)))" }
        return types.rounded("(float)\(x)", to)
      }
      return target.lanes == 1 ? one(x) : types.lanewise(target) { one(x + OpenCLTypes.lane($0)) }
    }
    if types.value(target) == types.value(source) { return x }
    return target.lanes == 1 ? "((\(types.value(target)))\(x))" : "convert_\(types.value(target))(\(x))"
  }
}
