import Foundation
import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraTestSupport
import TesseraVulkan
import Testing

/// Runs `spirv-val --target-env vulkan1.1` on generated modules, when spirv-tools is installed.
enum SPIRVValidator {
  static let path: String? = ["/usr/bin/spirv-val", "/usr/local/bin/spirv-val"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  static let skipReason = "spirv-val not installed (spirv-tools; see scripts/install-system-deps.sh)"

  /// `nil` when the module is valid, else spirv-val's message with the disassembly.
  static func problems(_ module: SPIRVModule) throws -> String? {
    let directory = TestSupport.temporaryDirectory("spirv")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let file = directory + "/kernel.spv"
    try Data(module.bytes).write(to: URL(fileURLWithPath: file))
    let result = try TestSupport.runProcess(path!, ["--target-env", "vulkan1.1", file])
    return result.status == 0 ? nil : result.stderr + result.stdout + "\n" + module.assembly
  }
}

@Suite("Generated SPIR-V passes spirv-val")
struct SPIRVValidationTests {
  private func kernels(_ graph: Graph) throws -> [(Kernel, Set<Int>)] {
    let plan = try GraphCompiler.compile(graph, target: .everything("vulkan"))
    return plan.steps.compactMap(\.call).map { ($0.kernel, VulkanPlanBinding.aliasedBuffers(of: $0, in: plan)) }
  }

  @Test(
    "every op example's kernels, whole and split launches",
    .enabled(if: SPIRVValidator.path != nil, Comment(rawValue: SPIRVValidator.skipReason)),
    arguments: OpExample.all, [false, true])
  func opExamples(example: OpExample, splitLaunch: Bool) throws {
    for (kernel, aliased) in try kernels(try TestSupport.parseOne(example.text)) {
      let module = try SPIRVCodegen.generate(kernel, aliased: aliased, splitLaunch: splitLaunch)
      let problems = try SPIRVValidator.problems(module)
      #expect(problems == nil, "\(example) \(kernel.name): \(problems ?? "")")
    }
  }

  @Test(
    "in-place quantized matmuls, with subgroup sums and with the shared-memory tree",
    .enabled(if: SPIRVValidator.path != nil, Comment(rawValue: SPIRVValidator.skipReason)),
    arguments: [nil, 8, 32])
  func quantizedMatmuls(subgroupSize: Int?) throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[3,64], %w: q4_0[9,64], %r: f32[3,9]) -> f32[3,9] {
        %d = dequantize %w : f32[9,64]
        %t = transpose %d {perm = [1, 0]} : f32[64,9]
        %m = matmul %x, %t : f32[3,9]
        %y = add %m, %r : f32[3,9]
        return %y
      }
      """)
    let target = TargetCapabilities.everything("vulkan", matmulsReadQuantizedWeights: true, subgroupSize: subgroupSize)
    for call in try GraphCompiler.compile(graph, target: target).steps.compactMap(\.call) {
      let problems = try SPIRVValidator.problems(try SPIRVCodegen.generate(call.kernel))
      #expect(problems == nil, "\(call.kernel.name): \(problems ?? "")")
    }
  }

  /// The streamed quantized matmul (one work-item an output, `mul_add` into vector sums), with
  /// and without the RMS norm of its x computed in the kernel.
  @Test(
    "the streamed quantized matmul",
    .enabled(if: SPIRVValidator.path != nil, Comment(rawValue: SPIRVValidator.skipReason)), arguments: [false, true])
  func streamedQuantizedMatmul(normed: Bool) throws {
    var target = TargetCapabilities.gpu("vulkan")
    target.streamsQuantizedRows = true
    target.fusesNormsIntoProducts = normed
    let graph = try TestSupport.parseOne(TestSupport.normedQuantizedProduct)
    let plan = try GraphCompiler.compile(
      graph, target: target, options: CompileOptions(library: StandardKernelLibrary()))
    let product = try #require(plan.steps.last?.call?.kernel)
    #expect(KIRPrinter.print(product).contains("mul_add"))
    for call in plan.steps.compactMap(\.call) {
      let problems = try SPIRVValidator.problems(try SPIRVCodegen.generate(call.kernel))
      #expect(problems == nil, "\(call.kernel.name): \(problems ?? "")")
    }
  }

  /// A decode step's attention in one kernel (shared memory, trees, barriers) and SwiGLU's gate
  /// and up in one quantized matmul kernel, with subgroup sums and without.
  @Test("the fused decode kernels", arguments: [nil, 8])
  func fusedDecodeKernels(subgroupSize: Int?) throws {
    var target = TargetCapabilities.gpu("vulkan")
    target.subgroupSize = subgroupSize
    let options = CompileOptions(library: StandardKernelLibrary())
    let graphs = [
      DecodeAttentionGraph.text(context: 37, heads: 4, kvHeads: 2, dim: 16),
      TestSupport.quantizedFeedForward,
    ]
    var kinds: Set<GroupKind> = []
    for text in graphs {
      let plan = try GraphCompiler.compile(TestSupport.parseOne(text), target: target, options: options)
      for step in plan.steps {
        guard let call = step.call else { continue }
        kinds.insert(step.group.kind)
        let problems = try SPIRVValidator.problems(try SPIRVCodegen.generate(call.kernel))
        #expect(problems == nil, "\(call.kernel.name): \(problems ?? "")")
      }
    }
    #expect(kinds.contains(.attention))
    #expect(kinds.contains(.matmul))
  }

  @Test(
    "random graphs' kernels", .enabled(if: SPIRVValidator.path != nil, Comment(rawValue: SPIRVValidator.skipReason)))
  func randomGraphs() throws {
    for seed in 0..<25 {
      var generator = RandomGraphGenerator(seed: UInt64(3000 + seed))
      for (kernel, aliased) in try kernels(try generator.makeGraph(operations: 10)) {
        let problems = try SPIRVValidator.problems(try SPIRVCodegen.generate(kernel, aliased: aliased))
        #expect(problems == nil, "seed \(3000 + seed) \(kernel.name): \(problems ?? "")")
      }
    }
  }
}
