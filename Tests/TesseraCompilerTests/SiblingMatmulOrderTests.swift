import TesseraCompiler
import TesseraIR
import TesseraTestSupport
import Testing

/// Matmul groups reading the same left operand are put next to each other in the plan.
@Suite("Sibling matmuls in the execution order")
struct SiblingMatmulOrderTests {
  /// q's softmax comes between the q and k projections in graph order; v's epilogue reads q's
  /// softmax, so v cannot come before it.
  static let text = """
    func @f(%x: f32[1,64], %wq: q8_0[64,64], %wk: q8_0[64,64], %wv: q8_0[64,64]) -> (f32[1,64], f32[1,64], f32[1,64]) {
      %dq = dequantize %wq : f32[64,64]
      %tq = transpose %dq : f32[64,64]
      %q = matmul %x, %tq : f32[1,64]
      %qs = softmax %q {axis = 1} : f32[1,64]
      %dk = dequantize %wk : f32[64,64]
      %tk = transpose %dk : f32[64,64]
      %k = matmul %x, %tk : f32[1,64]
      %ks = softmax %k {axis = 1} : f32[1,64]
      %dv = dequantize %wv : f32[64,64]
      %tv = transpose %dv : f32[64,64]
      %v = matmul %x, %tv : f32[1,64]
      %vq = add %v, %qs : f32[1,64]
      return %qs, %ks, %vq
    }
    """

  @Test("k moves up next to q past q's softmax; v, whose epilogue reads that softmax, stays after it")
  func siblingsAdjacent() throws {
    let plan = try GraphCompiler.compile(try TestSupport.parseOne(Self.text), target: .everything("kir"))
    let names = plan.steps.filter { $0.call != nil }.map { plan.graph[$0.group.root].name }
    let position = { (name: String) in names.firstIndex(of: name) }
    let (q, k, qs, vq) = (try #require(position("q")), try #require(position("k")), position("qs")!, position("vq")!)
    #expect(names[(q + 1)..<k].allSatisfy { !["qs", "ks", "vq"].contains($0) }, "\(names)")
    #expect(k < qs && qs < vq, "\(names)")
  }

  @Test("every step still reads only values computed before it")
  func stillTopological() throws {
    let plan = try GraphCompiler.compile(try TestSupport.parseOne(Self.text), target: .everything("kir"))
    var computed = Set(plan.graph.arguments)
    for step in plan.steps {
      let nodes = step.group.nodes.map { plan.graph.nodes[$0] }
      let inside = Set(nodes.map(\.result))
      for operand in nodes.flatMap(\.operands) where !inside.contains(operand) {
        #expect(computed.contains(operand), "%\(plan.graph[step.group.root].name) reads %\(plan.graph[operand].name)")
      }
      computed.formUnion(inside)
    }
  }
}
