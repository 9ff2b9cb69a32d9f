import TesseraCompiler
import TesseraIR
import Testing

/// The quantized matmul's launch shapes: which a target can use, which `tessera tune` tries, and
/// that the compiler launches the tuned one.
@Suite("Kernel tuning shapes")
struct KernelTuningTests {
  @Test(
    "every candidate is usable on the target it was made for",
    arguments: [(nil, 1024), (8, 256), (32, 1024), (64, 64), (nil, 64)] as [(Int?, Int)])
  func candidatesAreUsable(subgroupSize: Int?, maxWorkgroupSize: Int) {
    let candidates = QuantizedMatmulTuning.candidates(subgroupSize: subgroupSize, maxWorkgroupSize: maxWorkgroupSize)
    #expect(!candidates.isEmpty)
    #expect(Set(candidates).count == candidates.count, "no shape twice")
    for shape in candidates {
      #expect(shape.problem(subgroupSize: subgroupSize, maxWorkgroupSize: maxWorkgroupSize) == nil, "\(shape)")
      #expect(shape.lanes * shape.rows <= maxWorkgroupSize)
    }
    #expect(candidates.contains { $0.subgroupSums } == (subgroupSize != nil))
  }

  @Test func unusableShapesSayWhy() {
    func problem(_ lanes: Int, _ rows: Int, _ sums: Bool, subgroup: Int? = 8, limit: Int = 256) -> String? {
      QuantizedMatmulTuning(lanes: lanes, rows: rows, subgroupSums: sums).problem(
        subgroupSize: subgroup, maxWorkgroupSize: limit)
    }
    #expect(problem(12, 4, false) == "lanes 12 is not a power of two up to 256")
    #expect(problem(8, 0, false) == "rows 0 is not between 1 and 256")
    #expect(problem(64, 8, false) == "512 work-items is more than the device's workgroup limit 256")
    #expect(problem(16, 4, true) == "subgroup sums need lanes equal to the subgroup size (8)")
    #expect(
      problem(8, 4, true, subgroup: nil) == "subgroup sums need lanes equal to the subgroup size (the device has none)")
    #expect(problem(8, 4, true) == nil)
  }

  @Test(
    "the compiler launches the tuned shape",
    arguments: [
      QuantizedMatmulTuning(lanes: 8, rows: 2, subgroupSums: true),
      QuantizedMatmulTuning(lanes: 16, rows: 4, subgroupSums: false),
      QuantizedMatmulTuning(lanes: 1, rows: 32, subgroupSums: false),
    ])
  func compilerUsesTheTuning(shape: QuantizedMatmulTuning) throws {
    let graph = try Parser.parse(
      """
      func @f(%x: f32[1,64], %w: q4_1[40,64]) -> f32[1,40] {
        %d = dequantize %w : f32[40,64]
        %t = transpose %d {perm = [1, 0]} : f32[64,40]
        %y = matmul %x, %t : f32[1,40]
        return %y
      }
      """, file: "tuned.tir"
    ).functions[0]
    var target = TargetCapabilities.everything("vulkan", matmulsReadQuantizedWeights: true, subgroupSize: 8)
    target.tuning = KernelTuning(quantizedMatmul: shape)
    let kernel = try #require(try GraphCompiler.compile(graph, target: target).steps.compactMap(\.call).first).kernel
    #expect(kernel.workgroupSize == [shape.lanes, shape.rows, 1])
    #expect(KIRPrinter.print(kernel).contains("subgroup_add") == shape.subgroupSums)
  }
}
