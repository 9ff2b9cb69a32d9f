import TesseraIR

/// OpenCL C decoders of the GGUF block formats: `float tessera_dequant_<dtype>(blocks, index)`
/// printed from each format's one description (``BlockFormat/program``), and
/// `float8 tessera_dequant8_<dtype>` (eight consecutive elements from a multiple of 8, inside
/// one block) written by hand for q4_0, q4_1 and q8_0 (tested against the description) and from
/// eight scalar calls for the others.
enum OpenCLBlockDecoders {
  /// The eight-lane decoders written by hand: each block's scale read once (q4_1's scale and
  /// minimum together, ``tessera_half2_at``), the codes by `vload8`.
  static let handWrittenVectors: [DType: String] = [
    .q4_0: """
    float8 tessera_dequant8_q4_0(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 5) * 18;
      int j = index & 31;
      float d = tessera_half_bits((ushort)(block[0] | (block[1] << 8)));
      uchar8 bytes = vload8(0, block + 2 + (j & 15));
      int8 q = convert_int8((bytes >> (uchar8)((j >> 4) * 4)) & (uchar8)15);
      return convert_float8(q - 8) * d;
    }
    """,
    .q4_1: """
    float8 tessera_dequant8_q4_1(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 5) * 20;
      int j = index & 31;
      float2 dm = tessera_half2_at(block);
      float d = dm.x, m = dm.y;
      uchar8 bytes = vload8(0, block + 4 + (j & 15));
      return convert_float8((bytes >> (uchar8)((j >> 4) * 4)) & (uchar8)15) * d + m;
    }
    """,
    .q8_0: """
    float8 tessera_dequant8_q8_0(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 5) * 34;
      float d = tessera_half_bits((ushort)(block[0] | (block[1] << 8)));
      return convert_float8(as_char8(vload8(0, block + 2 + (index & 31)))) * d;
    }
    """,
  ]

  /// The sixteen-lane decoders written by hand (sixteen elements from a multiple of 16: one
  /// half of a block, so the codes are one `vload16` and one nibble position). q4_1's scale and
  /// minimum, adjacent halves, are one load and one conversion (PoCL's streamed q4_1 matvec,
  /// 12288 × 576: 252–282 → 206–232 µs a launch).
  static let handWrittenSixteens: [DType: String] = [
    .q4_0: """
    float16 tessera_dequant16_q4_0(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 5) * 18;
      float d = tessera_half_bits((ushort)(block[0] | (block[1] << 8)));
      uchar16 bytes = vload16(0, block + 2);
      uchar16 codes = (index & 16) ? (bytes >> (uchar16)4) : (bytes & (uchar16)15);
      return convert_float16(convert_int16(codes) - 8) * d;
    }
    """,
    .q4_1: """
    float16 tessera_dequant16_q4_1(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 5) * 20;
      float2 dm = tessera_half2_at(block);
      float d = dm.x, m = dm.y;
      uchar16 bytes = vload16(0, block + 4);
      uchar16 codes = (index & 16) ? (bytes >> (uchar16)4) : (bytes & (uchar16)15);
      return convert_float16(codes) * d + m;
    }
    """,
    .q8_0: """
    float16 tessera_dequant16_q8_0(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 5) * 34;
      float d = tessera_half_bits((ushort)(block[0] | (block[1] << 8)));
      return convert_float16(as_char16(vload16(0, block + 2 + (index & 31)))) * d;
    }
    """,
  ]

  /// The decoders of the formats in `dtypes`, as preamble text.
  static func text(for dtypes: Set<DType>) -> String {
    OpenCLKQuantDecoders.helpers(for: dtypes)
      + BlockFormat.all.filter { dtypes.contains($0.dtype) }.map { scalar($0) + vector($0) + sixteen($0) }.joined()
  }

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
    handWrittenVectors[format.dtype].map { $0 + "\n" } ?? scalarBuilt(format, lanes: 8)
  }

  /// Sixteen consecutive elements from sixteen scalar decodes, unless written by hand (here, or
  /// the K-quant mix's in ``OpenCLKQuantDecoders``).
  static func sixteen(_ format: BlockFormat) -> String {
    (handWrittenSixteens[format.dtype] ?? OpenCLKQuantDecoders.sixteens[format.dtype]).map { $0 + "\n" }
      ?? scalarBuilt(format, lanes: 16)
  }

  /// `tessera_dequant<lanes>_<type>`: `lanes` consecutive elements, each from the scalar decode.
  private static func scalarBuilt(_ format: BlockFormat, lanes: Int) -> String {
    let name = "tessera_dequant_\(format.dtype)"
    let calls = (0..<lanes).map { "\(name)(blocks, index + \($0))" }.joined(separator: ", ")
    return "float\(lanes) tessera_dequant\(lanes)_\(format.dtype)(__global const uchar* blocks, int index) {\n"
      + "  return (float\(lanes))(\(calls));\n}\n\n"
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
