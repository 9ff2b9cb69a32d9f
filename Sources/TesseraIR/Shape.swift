/// The dimensions of a tensor, outermost first. A scalar has no dimensions.
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
  /// The size of each axis.
  public var dims: [Int]

  /// Creates a shape from its dimensions.
  public init(_ dims: [Int]) { self.dims = dims }

  /// Creates a shape from an array literal: `[4, 64]`.
  public init(arrayLiteral elements: Int...) { self.dims = elements }

  /// The number of axes.
  public var rank: Int { dims.count }

  /// The number of elements (1 for a scalar).
  public var count: Int { dims.reduce(1, *) }

  /// Row-major (C order) strides in elements.
  public var strides: [Int] {
    var strides = [Int](repeating: 1, count: rank)
    var running = 1
    for axis in stride(from: rank - 1, through: 0, by: -1) {
      strides[axis] = running
      running *= dims[axis]
    }
    return strides
  }

  /// The text form used inside a type: `[4,64]`, `[]` for a scalar.
  public var description: String { "[" + dims.map(String.init).joined(separator: ",") + "]" }

  /// Maps a possibly negative axis (numpy style) into `0..<rank`, or `nil` when out of range.
  public func normalizedAxis(_ axis: Int) -> Int? {
    let resolved = axis < 0 ? axis + rank : axis
    return (0..<rank).contains(resolved) ? resolved : nil
  }

  /// The numpy broadcast of two shapes, or `nil` when they are incompatible.
  public static func broadcast(_ a: Shape, _ b: Shape) -> Shape? {
    let rank = max(a.rank, b.rank)
    var dims = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let da = i < rank - a.rank ? 1 : a.dims[i - (rank - a.rank)]
      let db = i < rank - b.rank ? 1 : b.dims[i - (rank - b.rank)]
      if da == db || db == 1 {
        dims[i] = da
      } else if da == 1 {
        dims[i] = db
      } else {
        return nil
      }
    }
    return Shape(dims)
  }
}

/// The type of a tensor value: element type and shape, written `f32[4,64]` in `.tir`.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
  /// The element type.
  public var dtype: DType
  /// The dimensions.
  public var shape: Shape

  /// Creates a tensor type.
  public init(_ dtype: DType, _ shape: Shape) {
    self.dtype = dtype
    self.shape = shape
  }

  /// The text form: `f32[4,64]`.
  public var description: String { "\(dtype)\(shape)" }

  /// Bytes needed to store a tensor of this type, or `nil` when not representable.
  public var storageBytes: Int? { dtype.storageBytes(count: shape.count) }
}
