import TesseraCompiler
import TesseraIR

/// What the OpenCL C generator may use on the target device.
public struct OpenCLCodegenOptions: Hashable, Sendable {
  /// Whether f16 values compute as `half` (the device has `cl_khr_fp16`); otherwise they compute
  /// as `float` and f16 buffers are read and written with `vload_half`/`vstore_half`.
  public var nativeHalf: Bool

  /// Creates options.
  public init(nativeHalf: Bool = false) { self.nativeHalf = nativeHalf }
}

/// Translates Kernel IR into OpenCL C 1.2 source.
///
/// Each buffer parameter becomes a `__global uchar*` base plus a `uint` byte offset (so one arena
/// buffer serves every intermediate), each scalar a value parameter, in KIR order. Every KIR
/// value is a `const` local named `v<id>`, every variable a local `var<id>`; loops, conditionals,
/// shared arrays and barriers map one to one.
public enum OpenCLCodegen {
  /// One program: the preamble once, then every kernel.
  public static func program(_ kernels: [Kernel], options: OpenCLCodegenOptions) -> String {
    let blockTypes = Set(kernels.flatMap { $0.buffers.map(\.dtype) }.filter(\.isQuantized))
    return
      ([OpenCLPreamble.text(nativeHalf: options.nativeHalf, blockTypes: blockTypes)]
      + kernels.map { kernel($0, options: options) })
      .joined(separator: "\n")
  }

  /// The source of one kernel function (without the preamble).
  public static func kernel(_ kernel: Kernel, options: OpenCLCodegenOptions) -> String {
    var writer = OpenCLKernelWriter(kernel: kernel, types: OpenCLTypes(nativeHalf: options.nativeHalf))
    return writer.write()
  }

  /// A C identifier for a KIR name: invalid characters become `_`, and names that are OpenCL C
  /// words or look like generated locals get a trailing `_`.
  static func identifier(_ name: String) -> String {
    var text = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    if text.isEmpty || text.first!.isNumber || reserved.contains(text) || text.hasPrefix("tessera_")
      || text.hasSuffix("_base") || text.hasSuffix("_offset")
      || ((text.hasPrefix("v") || text.hasPrefix("var")) && text.drop { $0.isLetter }.allSatisfy(\.isNumber))
    {
      text += "_"
    }
    return text
  }

  private static let reserved: Set<String> = [
    "auto", "bool", "break", "case", "char", "const", "constant", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "global", "goto", "half", "if", "inline", "int", "kernel", "local", "long",
    "private", "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "uchar", "uint", "ulong", "union", "unsigned", "ushort", "void", "volatile", "while", "read_only",
    "write_only", "read_write", "image2d_t", "image3d_t", "sampler_t", "event_t", "size_t", "NAN", "INFINITY",
  ]
}
