import TesseraIR

/// The result type `kind` infers for `operands` (shared by the type-inference suites).
func infer(_ kind: OpKind, _ operands: [TensorType], _ attributes: Attributes = [:]) throws -> TensorType {
  try TypeInference.resultType(of: kind, operands: operands, attributes: attributes)
}

/// The message of the error inference gives for `operands`, or nil when it infers a type.
func failure(_ kind: OpKind, _ operands: [TensorType], _ attributes: Attributes = [:]) -> String? {
  do {
    _ = try TypeInference.resultType(of: kind, operands: operands, attributes: attributes)
    return nil
  } catch {
    return error.message
  }
}
