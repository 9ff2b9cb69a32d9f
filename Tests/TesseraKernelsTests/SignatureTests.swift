import TesseraCompiler
import TesseraIR
import TesseraKernels
import Testing

@Suite("Library kernels: documented signatures")
struct SignatureTests {
  /// A kernel and its documented parameters: buffer names, then `$scalar` names, in order.
  struct Signature: CustomStringConvertible, Sendable {
    var make: @Sendable () throws -> Kernel
    var parameters: [String]
    var description: String { parameters.joined(separator: ",") }
  }

  static let reduction = ["$outer", "$size", "$inner"]
  static let norm = ["$rows", "$size", "$epsilon"]
  static let quantized = ["x", "w", "y", "$m", "$n", "$k"]
  static let attention = ["q", "k_cache", "v_cache", "out", "$heads", "$kv_heads", "$head_dim"]

  static let signatures: [Signature] = [
    Signature(
      make: { try TesseraKernels.matmul(dtype: .f16) },
      parameters: ["a", "b", "c", "$m", "$n", "$k", "$batch", "$stride_a", "$stride_b"]),
    Signature(
      make: {
        try TesseraKernels.matmul(
          epilogue: MatmulEpilogue(buffers: [("bias", .f32), ("gate", .f16)]) { _, sum, _, _, _, _ in sum })
      }, parameters: ["a", "b", "c", "bias", "gate", "$m", "$n", "$k", "$batch", "$stride_a", "$stride_b"]),
    Signature(make: { try TesseraKernels.quantizedMatmul(weights: .q4_0) }, parameters: quantized),
    Signature(make: { try TesseraKernels.quantizedMatVec(weights: .q8_0) }, parameters: quantized),
    Signature(make: { try TesseraKernels.reduce(.mean) }, parameters: ["x", "y"] + reduction),
    Signature(make: { try TesseraKernels.argmax() }, parameters: ["x", "y"] + reduction),
    Signature(make: { try TesseraKernels.softmax() }, parameters: ["x", "y"] + reduction),
    Signature(make: { try TesseraKernels.rmsNorm() }, parameters: ["x", "w", "y"] + norm),
    Signature(make: { try TesseraKernels.layerNorm() }, parameters: ["x", "w", "b", "y"] + norm),
    Signature(
      make: { try TesseraKernels.layerNorm(hasWeight: true, hasBias: false) }, parameters: ["x", "w", "y"] + norm),
    Signature(make: { try TesseraKernels.layerNorm(hasWeight: false, hasBias: false) }, parameters: ["x", "y"] + norm),
    Signature(
      make: { try TesseraKernels.rope(neox: true) },
      parameters: ["x", "positions", "y", "$tokens", "$heads", "$seq", "$dim", "$theta"]),
    Signature(make: { try TesseraKernels.attentionDecode() }, parameters: attention + ["$kv_len", "$scale"]),
    Signature(make: { try TesseraKernels.attentionPrefill() }, parameters: attention + ["$seq", "$past", "$scale"]),
    Signature(
      make: { try TesseraKernels.gatherRows(table: .q4_1) },
      parameters: ["table", "ids", "out", "$rows", "$width", "$count"]),
    Signature(
      make: { try TesseraKernels.permute(rank: 2) },
      parameters: ["x", "y", "$count", "$d0", "$d1", "$s0", "$s1", "$offset"]),
  ]

  @Test("printed KIR names the parameters in the documented order", arguments: signatures)
  func printedParameters(signature: Signature) throws {
    let text = KIRPrinter.print(try signature.make())
    let header = try #require(text.split(separator: "\n").first { $0.hasPrefix("kernel @") })
    let list = header[header.index(after: header.firstIndex(of: "(")!)..<header.firstIndex(of: ")")!]
    let names = list.split(separator: ", ").map { String($0.prefix { $0 != ":" }) }
    #expect(names == signature.parameters)
  }

  @Test func configsThatCannotWorkAreRejected() {
    #expect(throws: KIRError.self) { try TesseraKernels.softmax(config: ReductionConfig(workgroupSize: 48)) }
    #expect(throws: KIRError.self) { try TesseraKernels.matmul(dtype: .q4_0) }
    #expect(throws: KIRError.self) {
      try TesseraKernels.quantizedMatVec(weights: .f32, config: MatVecConfig(vectorWidth: 3))
    }
    #expect(throws: KIRError.self) { try TesseraKernels.gatherRows(table: .i32) }
  }
}
