import TesseraIR

/// OpenCL C decoders of the GGUF block formats, printed from each format's one description
/// (``BlockFormat/program``): `float tessera_dequant_<dtype>(blocks, index)` for every format,
/// and `float8 tessera_dequant8_<dtype>` from eight scalar calls for the formats without a
/// hand-written vector decoder in ``OpenCLPreamble``.
enum OpenCLBlockDecoders {
  /// The formats whose eight-lane decoder ``OpenCLPreamble`` writes by hand.
  static let handWrittenVectors: Set<DType> = [.q4_0, .q4_1, .q8_0]

  /// Every decoder, as preamble text.
  static let text: String = BlockFormat.all.map { scalar($0) + vector($0) }.joined()

  /// Element `index` of a buffer of `format` blocks: one local per program instruction.
  static func scalar(_ format: BlockFormat) -> String {
    var lines = [
      "// GGUF \(format.ggmlName): \(format.elements) elements in \(format.bytes) bytes "
        + "(\(format.fields.map { "\($0.name)[\($0.bytes)]" }.joined(separator: " "))), from its BlockFormat.",
      "float tessera_dequant_\(format.dtype)(__global const uchar* blocks, int index) {",
      "  __global const uchar* block = blocks + (index / \(format.elements)) * \(format.bytes);",
    ]
    for (slot, instruction) in format.program.instructions.enumerated() {
      let v = "v\(slot)"
      switch instruction {
      case .element: lines.append("  int \(v) = index % \(format.elements);")
      case .constant(let value): lines.append("  int \(v) = \(value);")
      case .byte(let a): lines.append("  int \(v) = block[v\(a)];")
      case .half(let a):
        lines.append("  float \(v) = tessera_half_bits((ushort)(block[v\(a)] | (block[v\(a) + 1] << 8)));")
      case .integer(let op, let a, let b): lines.append("  int \(v) = v\(a) \(symbol(op)) v\(b);")
      case .selectLess(let a, let b, let x, let y): lines.append("  int \(v) = v\(a) < v\(b) ? v\(x) : v\(y);")
      case .toFloat(let a): lines.append("  float \(v) = (float)v\(a);")
      case .float(let op, let a, let b): lines.append("  float \(v) = v\(a) \(symbol(op)) v\(b);")
      }
    }
    lines.append("  return v\(format.program.instructions.count - 1);\n}\n")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Eight consecutive elements from eight scalar decodes, unless written by hand.
  static func vector(_ format: BlockFormat) -> String {
    guard !handWrittenVectors.contains(format.dtype) else { return "" }
    let name = "tessera_dequant_\(format.dtype)"
    let calls = (0..<8).map { "\(name)(blocks, index + \($0))" }.joined(separator: ", ")
    return "float8 tessera_dequant8_\(format.dtype)(__global const uchar* blocks, int index) {\n"
      + "  return (float8)(\(calls));\n}\n\n"
  }

  private static func symbol(_ op: BlockIntegerOperator) -> String {
    switch op {
    case .add: "+"
    case .subtract: "-"
    case .multiply: "*"
    case .shiftLeft: "<<"
    case .shiftRight: ">>"
    case .and: "&"
    case .or: "|"
    }
  }

  private static func symbol(_ op: BlockFloatOperator) -> String {
    switch op {
    case .add: "+"
    case .subtract: "-"
    case .multiply: "*"
    }
  }
}
