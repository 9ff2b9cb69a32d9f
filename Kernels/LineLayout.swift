import TesseraCompiler
import TesseraIR

/// One line of a tensor per workgroup of `width` lanes, for the kernels that reduce a line
/// (reductions, argmax, softmax, norms): lanes stride over the line's `size` elements and combine
/// through ``tree``.
struct LineLayout {
  let builder: KernelBuilder
  let lane: KExpr
  let width: Int
  /// Elements in the line.
  let size: KExpr
  /// Element index of the line's first element.
  let base: KExpr
  /// Distance between consecutive elements of the line.
  let stride: KExpr
  /// Index of the line's result in an output with one element per line.
  let output: KExpr
  /// The workgroup tree: one f32 component (sums, extrema) unless the layout was made with others.
  let tree: WorkgroupTree

  /// Lines along the middle axis of `[outer][size][inner]`: declares the i32 scalars `outer`,
  /// `size`, `inner` and the launch global `[width * inner, outer]`, workgroup `[width, 1]`;
  /// group `(i, o)` owns line `[o][*][i]` and output element `[o][i]`.
  static func middleAxis(_ builder: KernelBuilder, width: Int, tree: [DType] = [.f32]) -> LineLayout {
    _ = builder.scalar("outer")
    let size = builder.scalar("size"), inner = builder.scalar("inner")
    builder.launch(global: [.product(.constant(width), .scalar("inner")), .scalar("outer")], workgroup: [width, 1])
    let i = builder.groupID(0), o = builder.groupID(1)
    return LineLayout(
      builder, width: width, size: size, base: o * size * inner + i, stride: inner, output: o * inner + i, tree: tree)
  }

  /// Rows of `[rows][size]`: declares the i32 scalars `rows`, `size` and the launch global
  /// `[width * rows]`, workgroup `[width]`; group `r` owns row `r`.
  static func rows(_ builder: KernelBuilder, width: Int) -> LineLayout {
    _ = builder.scalar("rows")
    let size = builder.scalar("size")
    builder.launch(global: [.product(.constant(width), .scalar("rows"))], workgroup: [width])
    let r = builder.groupID(0)
    return LineLayout(
      builder, width: width, size: size, base: r * size, stride: builder.i32(1), output: r, tree: [.f32])
  }

  private init(
    _ builder: KernelBuilder, width: Int, size: KExpr, base: KExpr, stride: KExpr, output: KExpr, tree: [DType]
  ) {
    self.builder = builder
    self.lane = builder.localID(0)
    self.width = width
    self.size = size
    self.base = base
    self.stride = stride
    self.output = output
    self.tree = WorkgroupTree(builder, name: "partial", dtypes: tree, width: width, lane: lane)
  }

  /// Index of element `j` of the line.
  func index(_ j: KExpr) -> KExpr { base + j * stride }

  /// This lane's fold of `update(total, x[line j], j)` over its elements of the line.
  func fold(_ x: KBufferRef, _ initial: KExpr, _ update: (KExpr, KExpr, KExpr) -> KExpr) -> KExpr {
    builder.fold(initial, from: lane, to: size, step: width) { total, j in update(total, x[index(j)], j) }
  }

  /// Runs `body(j, x[line j])` for this lane's elements of the line (from element `start`, one of
  /// them, where given).
  func forEach(_ x: KBufferRef, from start: KExpr? = nil, _ body: (KExpr, KExpr) -> Void) {
    builder.loop(from: start ?? lane, to: size, step: width) { j in body(j, x[index(j)]) }
  }

  /// Runs `body` on the line's first lane (to store the line's single result).
  func onFirstLane(_ body: () -> Void) { builder.if(lane.lt(builder.i32(1)), then: body) }
}
