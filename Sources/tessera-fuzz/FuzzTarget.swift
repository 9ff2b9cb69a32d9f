import Foundation
import Tessera

/// One parser under fuzzing. Each target feeds the input to the parser, which must return or
/// throw, never trap; what parses must also survive its round trip (print and parse again,
/// encode and decode again), or the target stops with `fatalError`, which the fuzzer reports.
enum FuzzTarget: String, CaseIterable {
  /// `.tir` text: `Parser.parse`, then `Printer.print` parses back to an equal graph.
  case tir
  /// GGUF files: `GGUFFile`, each small tensor, `LlamaConfig` and the tokenizer.
  case gguf
  /// `.npy` files: `NPY.decode`, then encode and decode give the same tensor.
  case npy
  /// NPU assembly: `Assembler.assemble`, then the binary and the disassembly give it back.
  case npuasm
  /// ONNX models: `ONNXModel`, each initializer's tensor, then the import; what imports must
  /// verify and print as `.tir` that parses back to an equal graph.
  case onnx

  /// The libFuzzer entry point for this target.
  var callback: LibFuzzer.TestOneInput {
    switch self {
    case .tir: { data, size in FuzzTarget.tir.run(Self.bytes(data, size)) }
    case .gguf: { data, size in FuzzTarget.gguf.run(Self.bytes(data, size)) }
    case .npy: { data, size in FuzzTarget.npy.run(Self.bytes(data, size)) }
    case .npuasm: { data, size in FuzzTarget.npuasm.run(Self.bytes(data, size)) }
    case .onnx: { data, size in FuzzTarget.onnx.run(Self.bytes(data, size)) }
    }
  }

  private static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    Array(UnsafeBufferPointer(start: data, count: size))
  }

  /// Runs one input; returns 0 as libFuzzer expects.
  @discardableResult
  func run(_ input: [UInt8]) -> Int32 {
    switch self {
    case .tir: Self.tir(input)
    case .gguf: Self.gguf(input)
    case .npy: Self.npy(input)
    case .npuasm: Self.npuasm(input)
    case .onnx: Self.onnx(input)
    }
    return 0
  }

  private static func tir(_ input: [UInt8]) {
    guard let module = try? Parser.parse(String(decoding: input, as: UTF8.self), file: "fuzz.tir") else { return }
    for graph in module.functions {
      _ = try? Verifier.verify(graph)
      let printed = Printer.print(graph)
      guard let again = try? Parser.parse(printed), again.functions == [graph] else {
        fatalError("the printed graph does not parse back to an equal graph:\n\(printed)")
      }
    }
  }

  /// GGUF is read from a file (it is memory-mapped); one scratch file per process.
  private static let ggufPath = NSTemporaryDirectory() + "/tessera-fuzz-\(getpid()).gguf"

  private static func gguf(_ input: [UInt8]) {
    guard FileManager.default.createFile(atPath: ggufPath, contents: Data(input)) else {
      fatalError("cannot write \(ggufPath)")
    }
    guard let file = try? GGUFFile(path: ggufPath) else { return }
    for info in file.tensors where info.byteCount <= 1 << 20 {
      // Block types are decoded too: their one description must read inside each block whatever the bytes.
      guard let tensor = try? file.tensor(named: info.name), tensor.dtype.isQuantized else { continue }
      _ = Quantization.dequantize(tensor.bytes, dtype: tensor.dtype, count: tensor.shape.count)
    }
    _ = try? LlamaConfig(gguf: file)
    if let tokenizer = try? file.tokenizer(), let ids = try? tokenizer.encode("Hello, world! 123") {
      _ = try? tokenizer.decode(ids)
    }
  }

  private static func npy(_ input: [UInt8]) {
    guard let tensor = try? NPY.decode(input) else { return }
    guard let again = try? NPY.decode(NPY.encode(tensor)), again == tensor else {
      fatalError("\(tensor.type) does not survive encode and decode")
    }
  }

  private static func onnx(_ input: [UInt8]) {
    guard let model = try? ONNXModel(bytes: input) else { return }
    for initializer in model.graph.initializers { _ = try? initializer.tensor() }
    let options = ONNXImportOptions(evaluator: ReferenceConstantEvaluator(), maxFoldElements: 4096)
    guard let graph = try? ONNXImporter.importModel(model, options: options) else { return }
    guard (try? Verifier.verify(graph)) != nil else { fatalError("an imported graph does not verify:\n\(graph)") }
    guard let again = try? Parser.parse(Printer.print(graph)), again.functions == [graph] else {
      fatalError("the imported graph does not print and parse back:\n\(graph)")
    }
  }

  private static func npuasm(_ input: [UInt8]) {
    guard let program = try? Assembler.assemble(String(decoding: input, as: UTF8.self)) else { return }
    guard (try? Encoding.program(Encoding.bytes(program))) == program else {
      fatalError("the binary encoding does not decode back:\n\(Disassembler.text(program))")
    }
    guard (try? Assembler.assemble(Disassembler.text(program))) == program else {
      fatalError("the disassembly does not assemble back:\n\(Disassembler.text(program))")
    }
  }
}
