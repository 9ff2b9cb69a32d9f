import TesseraCompiler
import TesseraIR

/// How Kernel IR types, literals and buffer accesses are spelled in OpenCL C for one device.
///
/// Values of f16 compute as `half` with `cl_khr_fp16` and as `float` otherwise; bf16 values
/// always compute as `float` (stored as `ushort` bits); bool values are `int` 0 or 1 (vectors:
/// `intN`), stored as `uchar`.
struct OpenCLTypes {
  /// Whether `half` arithmetic is available.
  let nativeHalf: Bool

  /// The C type of a scalar value of `dtype`.
  func scalar(_ dtype: DType) -> String {
    switch dtype {
    case .f32, .bf16: "float"
    case .f16: nativeHalf ? "half" : "float"
    case .i64: "long"
    case .i32, .bool: "int"
    case .i8: "char"
    case .u8: "uchar"
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: "float"
    }
  }

  /// The C type of a value: `float`, `float4`, `int8`…
  func value(_ type: KType) -> String { scalar(type.scalar) + (type.lanes == 1 ? "" : "\(type.lanes)") }

  /// The C element type of a global buffer of `dtype` (quantized buffers are bytes).
  func storage(_ dtype: DType) -> String {
    switch dtype {
    case .f32: "float"
    case .f16: "half"
    case .bf16: "ushort"
    case .i64: "long"
    case .i32: "int"
    case .i8: "char"
    case .u8, .bool, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: "uchar"
    }
  }

  /// Whether a value of `dtype` computes in a wider type and must be rounded where KIR rounds
  /// (casts and shared-memory stores).
  func needsRounding(_ dtype: DType) -> Bool { dtype == .bf16 || (dtype == .f16 && !nativeHalf) }

  /// `x` rounded to `dtype` when it computes in a wider type.
  func rounded(_ x: String, _ dtype: DType) -> String {
    switch dtype {
    case .bf16: "tessera_round_bf16(\(x))"
    case .f16 where !nativeHalf: "tessera_round_half(\(x))"
    default: x
    }
  }

  /// A literal of `type` (vectors splat the value), rounded to the type first as KIR does.
  func literal(_ value: Double, _ type: KType) -> String {
    let scalar = scalarLiteral(type.scalar.rounded(value), type.scalar)
    return type.lanes == 1 ? scalar : "((\(self.value(type)))(\(scalar)))"
  }

  private func scalarLiteral(_ value: Double, _ dtype: DType) -> String {
    switch dtype {
    case .f32, .bf16: return Self.floatLiteral(Float(value))
    case .f16: return nativeHalf ? "((half)\(Self.floatLiteral(Float(value))))" : Self.floatLiteral(Float(value))
    case .i64:
      let integer = Int64(value)
      return integer == .min ? "(-9223372036854775807L - 1)" : integer < 0 ? "(\(integer)L)" : "\(integer)L"
    case .i32:
      let integer = Int32(value)
      return integer == .min ? "(-2147483647 - 1)" : integer < 0 ? "(\(integer))" : "\(integer)"
    case .i8: return "((char)\(Int(value)))"
    case .u8: return "((uchar)\(Int(value)))"
    case .bool: return value != 0 ? "1" : "0"
    case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_k, .q3_k, .q4_k, .q5_k, .q6_k: return Self.floatLiteral(Float(value))
    }
  }

  /// A float literal that reads back to exactly `value`: `0.5f`, `1e-05f`, `INFINITY`, `NAN`.
  static func floatLiteral(_ value: Float) -> String {
    if value.isNaN { return "NAN" }
    if value.isInfinite { return value < 0 ? "(-INFINITY)" : "INFINITY" }
    let text = "\(value)f"
    return value.sign == .minus ? "(\(text))" : text
  }

  /// The swizzle of lane `index`: `.s0` … `.s9`, `.sa` … `.sf`.
  static func lane(_ index: Int) -> String { ".s" + String(index, radix: 16) }

  /// A vector of `type` built lane by lane: `(float4)(f(0), f(1), …)`.
  func lanewise(_ type: KType, _ lane: (Int) -> String) -> String {
    "((\(value(type)))(" + (0..<type.lanes).map(lane).joined(separator: ", ") + "))"
  }

  /// Reads `lanes` consecutive elements of a buffer of `dtype` at element `index`.
  func load(_ buffer: String, _ dtype: DType, _ index: String, lanes: Int) -> String {
    let n = lanes == 1 ? "" : "\(lanes)"
    switch dtype {
    case .f16 where !nativeHalf: return "vload_half\(n)(0, \(buffer) + \(index))"
    case .bf16 where lanes == 1: return "tessera_from_bf16(\(buffer)[\(index)])"
    case .bf16:
      return lanewise(KType(.f32, lanes: lanes)) { "tessera_from_bf16(\(buffer)[\(index) + \($0)])" }
    case .bool where lanes == 1: return "(int)(\(buffer)[\(index)] != 0)"
    case .bool: return "min(convert_int\(n)(vload\(n)(0, \(buffer) + \(index))), (int\(n))(1))"
    default: return lanes == 1 ? "\(buffer)[\(index)]" : "vload\(n)(0, \(buffer) + \(index))"
    }
  }

  /// The statement storing `value` (`lanes` elements) into a buffer of `dtype` at `index`.
  func store(_ buffer: String, _ dtype: DType, _ index: String, _ value: String, lanes: Int) -> String {
    let n = lanes == 1 ? "" : "\(lanes)"
    switch dtype {
    case .f16 where !nativeHalf: return "vstore_half\(n)_rte(\(value), 0, \(buffer) + \(index));"
    case .bf16 where lanes == 1: return "\(buffer)[\(index)] = tessera_to_bf16(\(value));"
    case .bf16:
      return (0..<lanes).map { "\(buffer)[\(index) + \($0)] = tessera_to_bf16(\(value)\(Self.lane($0)));" }.joined(
        separator: " ")
    case .bool where lanes == 1: return "\(buffer)[\(index)] = (uchar)(\(value) != 0);"
    case .bool: return "vstore\(n)(convert_uchar\(n)(\(value)), 0, \(buffer) + \(index));"
    default: return lanes == 1 ? "\(buffer)[\(index)] = \(value);" : "vstore\(n)(\(value), 0, \(buffer) + \(index));"
    }
  }
}
