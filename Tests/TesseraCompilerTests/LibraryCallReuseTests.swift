import TesseraCPU
import TesseraCompiler
import TesseraIR
import TesseraKernels
import TesseraTestSupport
import Testing

/// The compiler asks a signature-only kernel library once per node signature and rebinds the
/// call to each node; the plans must be the ones it gets by asking for every node.
@Suite("Library calls reused across nodes with the same signature")
struct LibraryCallReuseTests {
  /// Counts how often a library is asked.
  final class Counter: @unchecked Sendable {
    var calls = 0
  }

  /// A library with one kernel, `mul` of two f32 buffers; `signatureOnly` says whether the
  /// compiler may reuse its calls.
  struct MulLibrary: KernelLibrary {
    let counter: Counter
    let signatureOnly: Bool

    func call(for node: Node, in graph: Graph) -> KernelCall? {
      counter.calls += 1
      guard node.kind == .mul else { return nil }
      let k = KernelBuilder(name: "mul")
      let a = k.buffer("a", .f32, .read), b = k.buffer("b", .f32, .read), out = k.buffer("out", .f32, .write)
      let n = k.scalar("n")
      k.launch(global: [.scalar("n")], workgroup: [64])
      let i = k.globalID(0)
      k.if(i.lt(n)) { out[i] = a[i] * b[i] }
      guard let kernel = try? k.finish() else { return nil }
      let count = Double(graph.type(of: node.result).shape.count)
      return KernelCall(kernel: kernel, buffers: node.operands + [node.result], scalars: ["n": count])
    }

    var callsDependOnlyOnSignature: Bool { signatureOnly }
  }

  /// Asks `base` for every node: the compiler cannot reuse its calls.
  struct EveryNode: KernelLibrary {
    let base: any KernelLibrary

    func call(for node: Node, in graph: Graph) -> KernelCall? { base.call(for: node, in: graph) }

    var callsDependOnlyOnSignature: Bool { false }
  }

  @Test func oneCallPerSignatureReboundToEachNode() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[8], %y: f32[8], %z: f32[4]) -> (f32[8], f32[8], f32[8], f32[4]) {
        %a = mul %x, %y : f32[8]
        %b = mul %y, %x : f32[8]
        %c = mul %x, %x : f32[8]
        %d = mul %z, %z : f32[4]
        return %a, %b, %c, %d
      }
      """)
    let reused = Counter(), asked = Counter()
    let plan = try GraphCompiler.compile(
      graph, target: .everything("kir"),
      options: CompileOptions(library: MulLibrary(counter: reused, signatureOnly: true)))
    let reference = try GraphCompiler.compile(
      graph, target: .everything("kir"),
      options: CompileOptions(library: MulLibrary(counter: asked, signatureOnly: false)))
    #expect(reused.calls == 3)  // %b reuses %a's call; %c aliases its operands, %d has other types
    #expect(asked.calls == 4)
    #expect(plan == reference)
    let names = plan.steps.map { step in step.call!.buffers.map { plan.graph[$0].name } }
    #expect(names == [["x", "y", "a"], ["y", "x", "b"], ["x", "x", "c"], ["z", "z", "d"]])
    #expect(plan.kernels.map(\.name) == ["k0_mul", "k1_mul", "k2_mul", "k3_mul"])
  }

  /// `graph` compiled with the standard library, which reuses calls, and with the same library
  /// asked for every node.
  private func plansWithAndWithoutReuse(_ graph: Graph) throws -> (reused: CompiledPlan, asked: CompiledPlan) {
    let passes = PassPipeline.standard(evaluator: ReferenceConstantEvaluator())
    let library = StandardKernelLibrary()
    let reused = try GraphCompiler.compile(
      graph, target: .everything("kir"), options: CompileOptions(passes: passes, library: library))
    let asked = try GraphCompiler.compile(
      graph, target: .everything("kir"), options: CompileOptions(passes: passes, library: EveryNode(base: library)))
    return (reused, asked)
  }

  @Test func transformerPlanIsTheOneWithoutReuse() throws {
    let (plan, reference) = try plansWithAndWithoutReuse(try TransformerGraph.make(layers: 3))
    #expect(plan.kernels.count > 40)
    #expect(plan == reference)
  }

  @Test func declinedCompositesAreDecomposedAsWithoutReuse() throws {
    let graph = try TestSupport.parseOne(
      """
      func @f(%x: f32[4,6], %y: f32[4,6]) -> (f32[4,6], f32[4,6], f32[4,6]) {
        %s = softmax %x {axis = -1} : f32[4,6]
        %t = softmax %y {axis = -1} : f32[4,6]
        %n = layer_norm %x {axis = 0, epsilon = 1.0e-05} : f32[4,6]
        return %s, %t, %n
      }
      """)
    let (plan, reference) = try plansWithAndWithoutReuse(graph)
    #expect(plan == reference)
  }
}
