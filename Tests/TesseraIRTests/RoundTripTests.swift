import TesseraIR
import TesseraTestSupport
import Testing

@Suite("Printer and parser round trip")
struct RoundTripTests {
  @Test("the examples cover every op")
  func examplesCoverEveryOp() {
    let covered = Set(OpExample.all.map(\.op))
    #expect(covered == Set(OpKind.allCases), "missing: \(Set(OpKind.allCases).subtracting(covered))")
  }

  @Test("print → parse gives an equal graph", arguments: OpExample.all)
  func roundTrip(example: OpExample) throws {
    let parsed = try TestSupport.parseOne(example.text)
    try Verifier.verify(parsed)
    let printed = Printer.print(parsed)
    let reparsed = try TestSupport.parseOne(printed)
    #expect(reparsed == parsed)
    #expect(Printer.print(reparsed) == printed, "printing is not a fixed point")
  }

  @Test func builtGraphRoundTrips() throws {
    let b = GraphBuilder(name: "block")
    let x = b.argument("x", .f32, [2, 8])
    let w = b.argument("w", .f32, [8, 8])
    let norm = b.argument("g", .f32, [8])
    let quantized = b.argument("q", .q4_0, [8, 32])
    let h = b.rmsNorm(x, weight: norm, epsilon: 1e-5)
    let y = b.silu(b.matmul(h, w))
    let scores = b.softmax(b.mul(y, b.constant(0.125)))
    let weights = b.dequantize(quantized)
    let graph = try b.finish(returning: [scores, weights])
    let text = Printer.print(graph)
    #expect(try TestSupport.parseOne(text) == graph)
    #expect(text.contains("%2 = silu %1 : f32[2,8]"), "auto names are numbered: \(text)")
  }

  @Test func quantizedConstantsRoundTripAsBytes() throws {
    let bytes = (0..<34).map { UInt8($0 * 7 % 256) }
    let b = GraphBuilder(name: "q")
    let c = b.constant(Tensor(type: TensorType(.q8_0, [32]), bytes: bytes)!)
    let graph = try b.finish(returning: [b.dequantize(c)])
    let reparsed = try TestSupport.parseOne(Printer.print(graph))
    #expect(reparsed == graph)
    #expect(reparsed.nodes[0].literal?.bytes == bytes)
  }

  @Test func specialFloatsAndIntegersRoundTrip() throws {
    let text = """
      func @k() -> (f32[4], i64[2], f16[2]) {
        %a = constant [inf, -inf, nan, -0.0] : f32[4]
        %b = constant [9007199254740992, -3] : i64[2]
        %c = constant [65504.0, 6.1035156e-05] : f16[2]
        return %a, %b, %c
      }
      """
    let graph = try TestSupport.parseOne(text)
    let reparsed = try TestSupport.parseOne(Printer.print(graph))
    #expect(reparsed.nodes[1].literal?.int64s == [9_007_199_254_740_992, -3])
    #expect(reparsed.nodes[2].literal?.doubles == [65504, 6.103515625e-05])
    let floats = reparsed.nodes[0].literal!.doubles
    #expect(floats[0] == Double.infinity)
    #expect(floats[1] == -Double.infinity)
    #expect(floats[2].isNaN)
    #expect(floats[3].sign == .minus)
  }

  @Test func moduleWithSeveralFunctions() throws {
    let text = """
      // two functions
      func @first(%x: f32[2]) -> f32[2] {
        %y = neg %x : f32[2]
        return %y
      }
      func @second(%x: f32[2], %y: f32[2]) -> (f32[2], f32[2]) {
        return %y, %x
      }
      """
    let module = try Parser.parse(text)
    #expect(module.functions.map(\.name) == ["first", "second"])
    #expect(try Parser.parse(module.description) == module)
  }
}
