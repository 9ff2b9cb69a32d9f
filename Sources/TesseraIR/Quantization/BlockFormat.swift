/// One GGUF block format, described once: how many elements a block holds, its bytes, its
/// fields, its GGUF type id and how each element is decoded.
///
/// This is Tessera's one row per block type (as ggml's type-traits table): the reference decode
/// (``BlockDecoder``), the GGUF reader's type mapping, the OpenCL and SPIR-V decoders and the
/// NPU emulator all read it, and every hand-tuned fast path is tested against it.
public struct BlockFormat: Hashable, Sendable, CustomStringConvertible {
  /// A named run of bytes inside a block.
  public struct Field: Hashable, Sendable {
    /// What a field's bytes hold.
    public enum Kind: Hashable, Sendable {
      /// Little-endian IEEE f16 values (scales and minimums).
      case f16
      /// Packed bytes: codes, high bits or packed scales.
      case bytes
    }
    /// The name ggml gives the field (`d`, `dmin`, `scales`, `qs`, `qh`…).
    public var name: String
    /// Byte offset inside the block.
    public var offset: Int
    /// Length in bytes.
    public var bytes: Int
    /// What the bytes hold.
    public var kind: Kind
  }

  /// The IR storage dtype.
  public let dtype: DType
  /// The ggml name (`Q4_K`…).
  public let ggmlName: String
  /// The GGUF tensor type id.
  public let ggufType: UInt32
  /// Elements per block (32, or 256 for the K-quant super-blocks).
  public let elements: Int
  /// Bytes per block.
  public let bytes: Int
  /// The fields, in order, covering the block's bytes exactly.
  public let fields: [Field]
  /// Element `e`'s value: the one definition of the decode.
  public let value: BlockFloat
  /// ``value`` flattened for decoders.
  public let program: BlockProgram

  /// A format; `fields` must tile `0 ..< bytes`.
  init(
    _ dtype: DType, ggml: String, type: UInt32, elements: Int, fields: [(String, Int, Field.Kind)],
    value: BlockFloat
  ) {
    self.dtype = dtype
    ggmlName = ggml
    ggufType = type
    self.elements = elements
    var offset = 0
    self.fields = fields.map { name, length, kind in
      defer { offset += length }
      return Field(name: name, offset: offset, bytes: length, kind: kind)
    }
    bytes = offset
    self.value = value
    program = BlockProgram(value)
  }

  /// The dtype's name.
  public var description: String { dtype.rawValue }

  /// The field called `name`.
  public func field(_ name: String) -> Field? { fields.first { $0.name == name } }

  /// Decodes `count` elements (whole blocks) from `bytes`.
  public func decode(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
    precondition(count % elements == 0 && bytes.count >= count / elements * self.bytes)
    var decoder = BlockDecoder(self)
    return [Float](unsafeUninitializedCapacity: count) { output, initialized in
      for block in 0..<(count / elements) {
        decoder.decode(bytes.baseAddress! + block * self.bytes, into: output.baseAddress! + block * elements)
      }
      initialized = count
    }
  }
}
