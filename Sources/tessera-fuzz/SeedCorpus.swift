import Foundation
import Tessera
import TesseraTestSupport

/// The seed corpus, made by the project itself: small valid inputs for each target (every op
/// example, random graphs, `.npy` files of every dtype, a tiny Llama GGUF, NPU programs using
/// every instruction), each also truncated to half and with its middle byte flipped.
enum SeedCorpus {
  /// Writes `DIRECTORY/TARGET/NAME` for every target and seed.
  static func write(to directory: String) throws {
    for target in FuzzTarget.allCases {
      let folder = directory + "/" + target.rawValue
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
      for (name, bytes) in seeds(for: target) {
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/" + name))
      }
    }
  }

  /// The valid seeds of `target` and their broken variants.
  static func seeds(for target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
    valid(target).flatMap { name, bytes in
      var flipped = bytes
      if !flipped.isEmpty { flipped[flipped.count / 2] ^= 0x5a }
      return [(name, bytes), (name + ".half", Array(bytes.prefix(bytes.count / 2))), (name + ".flip", flipped)]
    }
  }

  private static func valid(_ target: FuzzTarget) -> [(String, [UInt8])] {
    switch target {
    case .tir:
      let examples = OpExample.all.enumerated().map { ("op\($0.offset).tir", Array($0.element.text.utf8)) }
      let random = (0..<8).compactMap { seed -> (String, [UInt8])? in
        var generator = RandomGraphGenerator(seed: UInt64(seed))
        return (try? generator.makeGraph()).map { ("random\(seed).tir", Array(Printer.print($0).utf8)) }
      }
      return examples + random
    case .gguf:
      var metadata = GGUFWriter()
      metadata.metadata = [
        ("general.alignment", .uint32(64)), ("a.u8", .uint8(1)), ("a.i16", .int16(-2)), ("a.f64", .float64(0.5)),
        ("a.bool", .bool(true)), ("a.array", .array(GGUFArray(elementType: .int32, elements: [.int32(1), .int32(2)]))),
      ]
      // One small tensor of every block type and of BF16, with random bytes.
      var blocks = GGUFWriter()
      var random = SeededRandom(seed: 3)
      blocks.tensors = BlockFormat.all.map { format in
        let bytes = (0..<(2 * format.bytes)).map { _ in UInt8.random(in: 0...255, using: &random) }
        return .init(name: "\(format.dtype)", dims: [format.elements, 2], typeCode: format.ggufType, bytes: bytes)
      }
      blocks.tensors.append(.init(name: "bf16", dims: [4], typeCode: 30, bytes: [0, 0x3F, 0x80, 0xBF, 0, 0, 1, 0]))
      return [
        ("tiny-llama.gguf", TinyLlama().writer.bytes()), ("metadata.gguf", metadata.bytes()),
        ("block-types.gguf", blocks.bytes()),
      ]
    case .npy:
      var random = SeededRandom(seed: 1)
      let types: [(DType, [Int])] = [
        (.f32, [2, 3]), (.f16, [4]), (.i64, []), (.i32, [3, 1]), (.i8, [2]), (.u8, [5]), (.bool, [3]),
      ]
      return types.compactMap { dtype, dims in
        let tensor = Tensor.random(TensorType(dtype, Shape(dims)), using: &random)
        return (try? NPY.encode(tensor)).map { ("\(dtype).npy", $0) }
      } + [("version2.npy", version2)]
    case .npuasm:
      return [("every-instruction.npuasm", Array(everyInstruction.utf8))]
    case .onnx:
      return onnxModels
    }
  }

  /// Small models using shape arithmetic, attributes of each kind and typed and raw tensors.
  private static var onnxModels: [(String, [UInt8])] {
    var mlp = ONNXModelWriter(opset: 13)
    mlp.input("x", .f32, [2, 4])
    mlp.initializer("w", Tensor((0..<12).map { Double($0) / 10 }, shape: [4, 3]))
    mlp.initializer("b", Tensor([1, 2, 3], shape: [3]), typed: true)
    mlp.node("Gemm", ["x", "w", "b"], ["h"], [("alpha", .float(0.5))])
    mlp.node("Relu", ["h"], ["r"])
    mlp.node("Softmax", ["r"], ["y"], [("axis", .int(-1))])
    mlp.output("y", .f32, [2, 3])
    var shapes = ONNXModelWriter()
    shapes.input("x", .f32, [.symbol("n"), 6])
    shapes.initializer("axes", Tensor([0], shape: [1], dtype: .i64))
    shapes.node("Shape", ["x"], ["s"])
    shapes.node("Slice", ["s", "axes", "axes"], ["lead"])
    shapes.node("Unsqueeze", ["x", "axes"], ["u"])
    shapes.node("ReduceSum", ["u", "axes"], ["y"], [("keepdims", .int(0))])
    shapes.output("y")
    return [("mlp.onnx", mlp.bytes()), ("shapes.onnx", shapes.bytes())]
  }

  /// A version 2.0 header (4-byte length), which `NPY.encode` writes only for huge headers.
  private static var version2: [UInt8] {
    let header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n".utf8)
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [2, 0]
    bytes += (0..<4).map { UInt8(truncatingIfNeeded: header.count >> (8 * $0)) }
    return bytes + header + [UInt8](repeating: 0, count: 8)
  }

  private static let everyInstruction = """
    ; every instruction form once
    start:
      li x1, 0x10
      addi x2, x1, -3
      add x3, x1, x2
      blt x1, x2, done
      jmp start
      set_flag mte2, cube, 3
      wait_flag mte2, cube, 3
      barrier
      dma.gm2l1.f32.f16 x4
      mmad.f16.acc x5, x6, x7, x8, x9, x10
      mmad.i8 x5, x6, x7, x8, x9, x10
      vadd x1, x2, x3, x4
      vexp x1, x2, x3
      vdup x1, x2, x3
      vredsum x1, x2, x3, x4
      vdeq.q4_0 x1, x2, x3
      ldg x1, x2, 8
      vcmp.le x1, x2, x3, x4
      vsel x1, x2, x3, x4, x5
      vredargmax x1, x2, x3, x4
      trap 1
      viota x1, x2
    done: halt // end
    """
}
