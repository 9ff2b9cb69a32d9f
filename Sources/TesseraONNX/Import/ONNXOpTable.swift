import TesseraIR

/// Imports one ONNX node: reads its inputs and attributes from the context and returns the
/// Tessera values of its outputs, in order (fewer when trailing optional outputs are not made).
typealias OpHandler = @Sendable (ImportContext) throws -> [ValueID]

/// Every op the importer claims, by ONNX op type (default domain), assembled from the groups.
enum ONNXOpTable {
  static let handlers: [String: OpHandler] = {
    var table: [String: OpHandler] = [:]
    let groups = [
      ElementwiseOps.handlers, ReductionOps.handlers, NormalizationOps.handlers, ShapeOps.handlers,
      SliceOps.handlers, GeneratorOps.handlers, VisionOps.handlers,
    ]
    for group in groups {
      table.merge(group) { _, _ in preconditionFailure("an ONNX op is claimed by two groups") }
    }
    return table
  }()
}
