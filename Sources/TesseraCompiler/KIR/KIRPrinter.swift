import TesseraIR

/// Prints Kernel IR as text (`tessera compile --emit kir`).
public enum KIRPrinter {
  /// The whole kernel.
  public static func print(_ kernel: Kernel) -> String {
    var lines: [String] = []
    if !kernel.comment.isEmpty { lines.append("// " + kernel.comment) }
    let parameters =
      kernel.buffers.map {
        "\($0.name): \($0.dtype)[] \($0.access.rawValue)" + ($0.interleave.map { " interleaved \($0)" } ?? "")
      }
      + kernel.scalars.map { "$\($0.name): \($0.dtype)" }
    lines.append(
      "kernel @\(kernel.name)(\(parameters.joined(separator: ", "))) global \(kernel.globalSize) workgroup \(kernel.workgroupSize) {"
    )
    for array in kernel.shared { lines.append("  shared \(array.name): \(array.dtype)[\(array.count)]") }
    append(kernel.body, kernel, indent: "  ", to: &lines)
    lines.append("}")
    return lines.joined(separator: "\n") + "\n"
  }

  private static func append(_ body: [KInstruction], _ kernel: Kernel, indent: String, to lines: inout [String]) {
    for instruction in body {
      switch instruction {
      case .loop(let index, let start, let end, let step, let inner):
        lines.append("\(indent)for \(index) = \(start) to \(end) step \(step) {")
        append(inner, kernel, indent: indent + "  ", to: &lines)
        lines.append("\(indent)}")
      case .conditional(let condition, let then, let otherwise):
        lines.append("\(indent)if \(condition) {")
        append(then, kernel, indent: indent + "  ", to: &lines)
        if !otherwise.isEmpty {
          lines.append("\(indent)} else {")
          append(otherwise, kernel, indent: indent + "  ", to: &lines)
        }
        lines.append("\(indent)}")
      default:
        lines.append(indent + line(instruction, kernel))
      }
    }
  }

  private static func line(_ instruction: KInstruction, _ kernel: Kernel) -> String {
    func typed(_ r: KValue, _ text: String) -> String { "\(r) = \(text) : \(kernel.type(of: r))" }
    switch instruction {
    case .constant(let r, let value):
      return typed(r, "const \(kernel.type(of: r).scalar.isFloatingPoint ? "\(value)" : "\(Int(value))")")
    case .builtin(let r, let builtin, let dimension): return typed(r, "\(builtin.rawValue) \(dimension)")
    case .scalarArgument(let r, let name): return typed(r, "arg $\(name)")
    case .unary(let r, let op, let a): return typed(r, "\(op.rawValue) \(a)")
    case .binary(let r, let op, let a, let b): return typed(r, "\(op.rawValue) \(a), \(b)")
    case .mulAdd(let r, let a, let b, let c): return typed(r, "mul_add \(a), \(b), \(c)")
    case .compare(let r, let kind, let a, let b): return typed(r, "\(kind.rawValue) \(a), \(b)")
    case .select(let r, let c, let a, let b): return typed(r, "select \(c), \(a), \(b)")
    case .cast(let r, let a): return typed(r, "cast \(a)")
    case .splat(let r, let a): return typed(r, "splat \(a)")
    case .extract(let r, let a, let lane): return typed(r, "extract \(a), \(lane)")
    case .reduceLanes(let r, let op, let a): return typed(r, "reduce_lanes \(op.rawValue) \(a)")
    case .load(let r, let buffer, let i): return typed(r, "load \(kernel.buffers[buffer].name)[\(i)]")
    case .loadDequantized(let r, let buffer, let i):
      return typed(r, "load_dequant \(kernel.buffers[buffer].name)[\(i)]")
    case .store(let buffer, let i, let v): return "store \(kernel.buffers[buffer].name)[\(i)], \(v)"
    case .loadShared(let r, let array, let i): return typed(r, "load_shared \(kernel.shared[array].name)[\(i)]")
    case .storeShared(let array, let i, let v): return "store_shared \(kernel.shared[array].name)[\(i)], \(v)"
    case .declare(let variable, let initial):
      return "var \(variable) = \(initial) : \(kernel.variableTypes[variable.id])"
    case .read(let r, let variable): return typed(r, "read \(variable)")
    case .write(let variable, let v): return "write \(variable), \(v)"
    case .barrier: return "barrier"
    case .subgroupAdd(let r, let a): return typed(r, "subgroup_add \(a)")
    case .loop, .conditional: preconditionFailure("structured instructions are printed by append")
    }
  }
}
