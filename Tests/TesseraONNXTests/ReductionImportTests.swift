import Foundation
import Tessera
import TesseraTestSupport
import Testing

/// Reductions, softmax, matmul/Gemm and normalizations against values worked out by hand.
@Suite("ONNX import: reductions, contractions, normalizations")
struct ReductionImportTests {
  private let x = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])

  @Test func reductionsTakeAxesFromInputsOrAttributes() throws {
    let sum = try ImportTesting.single("ReduceSum", inputs: [x], constants: [i64([1])], [("keepdims", .int(0))])
    #expect(sum.shape == [2] && sum.doubles == [6, 15])
    let all = try ImportTesting.single("ReduceSum", inputs: [x])
    #expect(all.shape == [1, 1] && all.doubles == [21])
    let mean = try ImportTesting.single("ReduceMean", inputs: [x], [("axes", .ints([0]))])
    #expect(mean.shape == [1, 3] && mean.doubles == [2.5, 3.5, 4.5])
    let max = try ImportTesting.single("ReduceMax", inputs: [x], constants: [i64([-1])], opset: 18)
    #expect(max.doubles == [3, 6])
    #expect(try ImportTesting.single("ReduceSumSquare", inputs: [x], [("axes", .ints([1]))]).doubles == [14, 77])
    let arg = try ImportTesting.single(
      "ArgMax", inputs: [Tensor([1, 9, 9, 7, 0, 8], shape: [2, 3])], [("axis", .int(1))])
    #expect(arg.type == TensorType(.i64, [2, 1]) && arg.doubles == [1, 2])
    let argmin = try ImportTesting.single("ArgMin", inputs: [x], [("keepdims", .int(0))])
    #expect(argmin.doubles == [0, 0, 0])
  }

  @Test func softmaxBeforeOpset13NormalisesTheFlattenedTrailingAxes() throws {
    let input = Tensor([0, 0, 0, 0, 1, 1, 1, 1], shape: [2, 2, 2])
    // Opset 11, axis 1: each batch row of 4 values sums to 1 → 0.25 everywhere.
    let old = try ImportTesting.single("Softmax", inputs: [input], [("axis", .int(1))], opset: 11)
    #expect(old.shape == [2, 2, 2] && old.floats == [Float](repeating: 0.25, count: 8))
    // Opset 13: along axis 1 only, pairs of equal values → 0.5.
    let new = try ImportTesting.single("Softmax", inputs: [input], [("axis", .int(1))], opset: 13)
    #expect(new.floats == [Float](repeating: 0.5, count: 8))
    let log = try ImportTesting.single("LogSoftmax", inputs: [Tensor([0, Foundation.log(3)], shape: [2])])
    #expect(zip(log.doubles, [Foundation.log(0.25), Foundation.log(0.75)]).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
  }

  @Test func matmulAndGemm() throws {
    let w = Tensor([1, 0, 0, 1, 1, 1], shape: [3, 2])
    #expect(try ImportTesting.single("MatMul", inputs: [x], constants: [w]).doubles == [4, 5, 10, 11])
    // Gemm with transB: W' is [2,3]; alpha 2, beta 0.5 on bias [10, 20].
    let wt = Tensor([1, 0, 1, 0, 1, 1], shape: [2, 3])
    let gemm = try ImportTesting.single(
      "Gemm", inputs: [x], constants: [wt, Tensor([10, 20], shape: [2])],
      [("transB", .int(1)), ("alpha", .float(2)), ("beta", .float(0.5))])
    #expect(gemm.doubles == [13, 20, 25, 32])  // 2 * [4, 5, 10, 11] + [5, 10]
  }

  @Test func layerAndBatchNormalization() throws {
    // Rows [1,2,3] and [4,5,6]: mean 2 / 5, variance 2/3, so (x - mean) / sqrt(2/3) = ∓1.2247, 0.
    let scale = Tensor([1, 2, 1], shape: [3])
    let bias = Tensor([0, 0, 1], shape: [3])
    let y = try ImportTesting.single(
      "LayerNormalization", inputs: [x], constants: [scale, bias], [("epsilon", .float(0))])
    let unit = 1 / (2.0 / 3).squareRoot()
    let expected = [-unit, 0, unit + 1, -unit, 0, unit + 1]
    #expect(zip(y.doubles, expected).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
    // Over both axes of a [1,2,2]: mean 2.5, variance 1.25.
    let square = Tensor([1, 2, 3, 4], shape: [1, 2, 2])
    let both = try ImportTesting.single(
      "LayerNormalization", inputs: [square], constants: [Tensor(repeating: 1, shape: [2, 2])],
      [("axis", .int(1)), ("epsilon", .float(0))])
    let sd = 1.25.squareRoot()
    #expect(zip(both.doubles, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd]).allSatisfy { Swift.abs($0 - $1) < 1e-5 })
    // BatchNormalization on [1,2,1,2]: channel 0 has mean 1, var 4, scale 2, bias 1 → (x-1)/2*2+1 = x.
    let image = Tensor([3, 5, 2, 4], shape: [1, 2, 1, 2])
    let batch = try ImportTesting.single(
      "BatchNormalization", inputs: [image],
      constants: [
        Tensor([2, 1], shape: [2]), Tensor([1, 0], shape: [2]), Tensor([1, 2], shape: [2]), Tensor([4, 1], shape: [2]),
      ],
      [("epsilon", .float(0))])
    #expect(batch.doubles == [3, 5, 0, 2])
  }
}
