import TesseraIR
import Testing

@Suite("Shape and dtype inference")
struct TypeInferenceTests {
  private let f32x4x8 = TensorType(.f32, [4, 8])

  @Test func matmulFollowsNumpy() throws {
    #expect(
      try infer(.matmul, [TensorType(.f32, [2, 1, 3, 4]), TensorType(.f32, [5, 4, 6])])
        == TensorType(.f32, [2, 5, 3, 6]))
    #expect(try infer(.matmul, [TensorType(.f32, [4]), TensorType(.f32, [4])]) == TensorType(.f32, []))
    #expect(try infer(.matmul, [TensorType(.f32, [3, 4]), TensorType(.f32, [4])]) == TensorType(.f32, [3]))
    #expect(
      failure(.matmul, [TensorType(.f32, [2, 3, 4]), TensorType(.f32, [3, 4, 5])])
        == "batch dims [2] and [3] do not broadcast")
    #expect(failure(.matmul, [TensorType(.f32, []), TensorType(.f32, [4])]) != nil)
  }

  @Test func reductions() throws {
    #expect(
      try infer(.reduceSum, [f32x4x8], ["axes": .ints([-1]), "keepdims": .bool(true)]) == TensorType(.f32, [4, 1]))
    #expect(try infer(.reduceMax, [f32x4x8]) == TensorType(.f32, []))
    #expect(try infer(.argmax, [f32x4x8], ["axis": .int(0)]) == TensorType(.i32, [8]))
    #expect(failure(.reduceSum, [f32x4x8], ["axes": .ints([0, -2])]) == "axes names axis 0 twice")
    #expect(failure(.reduceSum, [f32x4x8], ["axes": .ints([2])]) == "axes entry 2 is out of range for rank 2")
    #expect(failure(.argmax, [f32x4x8]) == "missing attribute 'axis'")
    #expect(failure(.reduceMean, [TensorType(.i32, [3])]) == "expected a float operand (f32, f16, bf16), found i32[3]")
  }

  @Test func movement() throws {
    #expect(try infer(.reshape, [f32x4x8], ["shape": .ints([2, -1, 4])]) == TensorType(.f32, [2, 4, 4]))
    #expect(
      failure(.reshape, [f32x4x8], ["shape": .ints([3, -1])]) == "cannot reshape [4,8] (32 elements) into [3, -1]")
    #expect(failure(.transpose, [f32x4x8], ["perm": .ints([0, 0])]) == "perm [0, 0] is not a permutation of 0..<2")
    #expect(failure(.broadcast, [f32x4x8], ["shape": .ints([4, 9])]) == "[4,8] does not broadcast to [4,9]")
    #expect(
      try infer(.slice, [f32x4x8], ["start": .ints([0, 1]), "end": .ints([4, 8]), "step": .ints([3, 3])])
        == TensorType(.f32, [2, 3]))
    #expect(
      failure(.slice, [f32x4x8], ["start": .ints([0, 0]), "end": .ints([5, 8])])
        == "slice [0, 5) is outside axis 0 of size 4")
    #expect(
      try infer(.gather, [TensorType(.f32, [10, 3]), TensorType(.i32, [2, 5])]) == TensorType(.f32, [2, 5, 3]))
    #expect(
      failure(.gather, [TensorType(.f32, [10, 3]), TensorType(.f32, [2])])
        == "gather indices must be an integer type, found f32")
    #expect(
      failure(.concat, [f32x4x8, TensorType(.f32, [3, 7])], ["axis": .int(0)])
        == "operand 2 of f32[3,7] differs from f32[4,8] outside axis 0")
  }

  @Test func elementwiseRules() throws {
    #expect(failure(.add, [f32x4x8, TensorType(.f16, [8])]) == "operand dtypes differ: f32[4,8] and f16[8]")
    #expect(failure(.add, [f32x4x8, TensorType(.f32, [3])]) == "shapes [4,8] and [3] do not broadcast")
    #expect(failure(.exp, [TensorType(.i32, [3])]) == "expected a float operand (f32, f16, bf16), found i32[3]")
    #expect(
      try infer(.compare, [f32x4x8, TensorType(.f32, [])], ["kind": .symbol("ge")]) == TensorType(.bool, [4, 8]))
    #expect(
      failure(.compare, [f32x4x8, f32x4x8], ["kind": .symbol("approx")])
        == "attribute 'kind' expects one of lt, le, gt, ge, eq, ne, found approx")
    #expect(failure(.select, [f32x4x8, f32x4x8, f32x4x8]) == "expected a bool condition as operand 1, found f32")
    #expect(try infer(.cast, [f32x4x8], ["to": .symbol("bf16")]) == TensorType(.bf16, [4, 8]))
    #expect(
      failure(.cast, [f32x4x8], ["to": .symbol("q4_0")]) == "cast cannot produce q4_0; quantized types are storage only"
    )
    #expect(
      failure(.add, [TensorType(.q8_0, [32]), TensorType(.q8_0, [32])]) == "expected numeric operands, found q8_0")
  }

  @Test func composites() throws {
    #expect(try infer(.rmsNorm, [f32x4x8, TensorType(.f32, [8])]) == f32x4x8)
    #expect(
      failure(.rmsNorm, [f32x4x8, TensorType(.f32, [4])]) == "operand 2 of f32[4] does not broadcast to f32[4,8]")
    #expect(try infer(.rope, [TensorType(.f32, [5, 2, 8]), TensorType(.i32, [5])]) == TensorType(.f32, [5, 2, 8]))
    #expect(
      failure(.rope, [TensorType(.f32, [5, 2, 7]), TensorType(.i32, [5])])
        == "rope needs rank >= 2 and an even last dim, found f32[5,2,7]")
    #expect(
      failure(.rope, [TensorType(.f32, [5, 2, 8]), TensorType(.i32, [2])])
        == "rope positions must be an integer vector [5], found i32[2]")
    #expect(try infer(.dequantize, [TensorType(.q4_0, [2, 32])]) == TensorType(.f32, [2, 32]))
    #expect(
      failure(.dequantize, [f32x4x8])
        == "dequantize expects a block-quantized dtype (q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k), found f32"
    )
  }
}

@Suite("Graph builder and verifier")
struct BuilderTests {
  @Test func builderReportsTheFirstBadOpWithItsName() {
    let b = GraphBuilder(name: "broken")
    let x = b.argument("x", .f32, [4, 8])
    let w = b.argument("w", .f32, [7, 3])
    let y = b.matmul(x, w, name: "proj")
    let z = b.relu(y)
    #expect(
      throws: IRError.invalidOp(
        function: "broken", op: .matmul, value: "proj",
        message: "contraction dims differ: f32[4,8] has 8, f32[7,3] has 7")
    ) {
      try b.finish(returning: [z])
    }
  }

  @Test func duplicateNamesAreRejected() {
    let b = GraphBuilder(name: "dup")
    let x = b.argument("x", .f32, [2])
    let y = b.neg(x, name: "x")
    #expect(throws: IRError.invalidGraph(function: "dup", message: "the name %x is used for two values")) {
      try b.finish(returning: [y])
    }
  }

  @Test func verifierCatchesUseBeforeDefinitionAndWrongTypes() {
    let b = GraphBuilder(name: "g")
    let x = b.argument("x", .f32, [2])
    let y = b.exp(x, name: "y")
    var graph = try! b.finish(returning: [y])
    var reordered = graph
    reordered.nodes.insert(Node(kind: .neg, operands: [y], result: ValueID(graph.values.count)), at: 0)
    reordered.values.append(Value(name: "early", type: TensorType(.f32, [2])))
    #expect(throws: IRError.invalidGraph(function: "g", message: "neg uses %y before it is defined")) {
      try Verifier.verify(reordered)
    }
    graph.values[y.index].type = TensorType(.f32, [3])
    #expect(
      throws: IRError.invalidOp(
        function: "g", op: .exp, value: "y", message: "recorded type f32[3] differs from inferred f32[2]")
    ) {
      try Verifier.verify(graph)
    }
  }

  @Test func equalityIgnoresValueStorageOrder() throws {
    let text = "func @f(%a: f32[2]) -> f32[2] {\n  %b = neg %a : f32[2]\n  return %b\n}\n"
    let parsed = try Parser.parse(text).functions[0]
    // The same graph with its values array stored in another order.
    let shuffled = Graph(
      name: "f",
      values: [Value(name: "b", type: TensorType(.f32, [2])), Value(name: "a", type: TensorType(.f32, [2]))],
      arguments: [ValueID(1)], nodes: [Node(kind: .neg, operands: [ValueID(1)], result: ValueID(0))],
      results: [ValueID(0)])
    #expect(parsed == shuffled)
    var renamed = shuffled
    renamed.values[0].name = "c"
    #expect(parsed != renamed)
  }
}
