import TesseraIR

/// ONNX's `TensorProto.DataType` codes and their Tessera dtypes.
public enum ONNXDataType {
  /// Every code the ONNX specification defines, with its name.
  static let names: [Int32: String] = [
    0: "UNDEFINED", 1: "FLOAT", 2: "UINT8", 3: "INT8", 4: "UINT16", 5: "INT16", 6: "INT32", 7: "INT64", 8: "STRING",
    9: "BOOL", 10: "FLOAT16", 11: "DOUBLE", 12: "UINT32", 13: "UINT64", 14: "COMPLEX64", 15: "COMPLEX128",
    16: "BFLOAT16", 17: "FLOAT8E4M3FN", 18: "FLOAT8E4M3FNUZ", 19: "FLOAT8E5M2", 20: "FLOAT8E5M2FNUZ", 21: "UINT4",
    22: "INT4", 23: "FLOAT4E2M1",
  ]

  /// The codes Tessera reads, with their dtypes.
  static let dtypes: [Int32: DType] = [
    1: .f32, 2: .u8, 3: .i8, 6: .i32, 7: .i64, 9: .bool, 10: .f16, 16: .bf16,
  ]

  /// The Tessera dtype of an ONNX element type code, or `nil` when Tessera has none.
  public static func dtype(_ code: Int32) -> DType? { dtypes[code] }

  /// The ONNX code of a Tessera dtype (the inverse of ``dtype(_:)``), or `nil` for quantized types.
  public static func code(_ dtype: DType) -> Int32? { dtypes.first { $0.value == dtype }?.key }

  /// The ONNX name of a code (`FLOAT`, `INT64`…), or `code N` for one the specification lacks.
  public static func name(_ code: Int32) -> String { names[code] ?? "code \(code)" }

  /// The supported names, for error messages.
  static var supportedNames: String { dtypes.keys.sorted().map { names[$0]! }.joined(separator: ", ") }
}
