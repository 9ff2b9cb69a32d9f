import TesseraIR

/// The quantized matmul kernel's tiled form, for many rows of x (a prompt's prefill): a
/// workgroup of ``side`` × ``side`` work-items computes a ``tile`` × ``tile`` block of the
/// result, ``micro`` × ``micro`` outputs per work-item (rows and outputs ``side`` apart, so that
/// neighbouring work-items read neighbouring floats of the shared tiles). For each
/// ``step(depth:)`` elements of `k`, the workgroup decodes its block's rows of `w` into shared
/// memory (each weight once per workgroup, where the kernel with a row of `w` per subgroup decodes
/// it again for every four rows of x) next to the block's rows of x; then each work-item
/// multiplies its rows of x by its rows of `w` from there, sixteen multiply-adds for eight loads.
/// f32 sums in `k` order per output.
enum TiledQuantizedMatmul {
  /// Rows of x and outputs (rows of `w`) of a workgroup's block.
  static let tile = 32
  /// Rows of x and outputs per work-item.
  static let micro = 4
  /// Work-items along each side of a workgroup.
  static let side = tile / micro
  /// Floats between the rows of a shared tile, which hold one element of `k` for every row of
  /// the block (one more than a row: the two halves that neighbouring work-items store, sixteen
  /// rows apart, then fall in different banks of a GPU's shared memory).
  static let pitch = tile + 1

  /// Whether the tiled kernel serves `rows` rows of x: at least one whole tile.
  static func serves(rows: Int) -> Bool { rows >= tile }

  /// Elements of `k` per step between two barriers: 64 where `depth` is a multiple of it, else
  /// 32 (every format the kernel reads has blocks of 32 or 256 elements, f16 rows a multiple of
  /// 32). lavapipe switches between its work-items at every barrier; 64 halves the switches.
  static func step(depth: Int) -> Int { depth % 64 == 0 ? 64 : 32 }
}

extension KernelGenerator {
  /// Emits the kernel described at ``TiledQuantizedMatmul`` for the matmul `core` reading `w`
  /// in place and x from `xBuffer`, then the group's epilogue per output.
  static func tiledQuantizedMatmul(
    _ core: Node, weight w: ValueID, xBuffer: KBufferRef, root: ValueID, _ emitter: GroupEmitter,
    _ result: KBufferRef
  ) {
    typealias Tiled = TiledQuantizedMatmul
    let k = emitter.builder, graph = emitter.graph
    let layout = MatmulLayout(graph.type(of: core.operands[0]).shape, graph.type(of: core.operands[1]).shape)
    let (n, depth) = (layout.n, layout.k)
    let outerShape = Shape(Array(graph.type(of: core.result).shape.dims.dropLast()))
    let outer = outerShape.count, xShape = graph.type(of: core.operands[0]).shape
    let (tile, micro, side, pitch) = (Tiled.tile, Tiled.micro, Tiled.side, Tiled.pitch)
    k.launch(
      global: [.constant(side * ((n + tile - 1) / tile)), .constant(side * ((outer + tile - 1) / tile)), .constant(1)],
      workgroup: [side, side, 1])
    let column = k.localID(0), line = k.localID(1)
    let firstOutput = k.groupID(0) * emitter.index(tile), firstRow = k.groupID(1) * emitter.index(tile)
    let weights = emitter.buffer(for: w)
    let step = Tiled.step(depth: depth), chunk = step / 2
    let xTile = k.shared("xTile", .f32, count: step * pitch), wTile = k.shared("wTile", .f32, count: step * pitch)
    // Each work-item loads half a row of each tile's step: rows past the end read the last row
    // (their products are not stored).
    let loader = line * emitter.index(side) + column
    let loadedRow = loader / emitter.index(2), half = (loader % emitter.index(2)) * emitter.index(chunk)
    let weightRow = k.min(firstOutput + loadedRow, emitter.index(n - 1)) * emitter.index(depth)
    let xCoordinates = emitter.coordinates(of: k.min(firstRow + loadedRow, emitter.index(outer - 1)), in: outerShape)
    let sums = (0..<(micro * micro)).map { _ in k.variable(k.f32(0)) }
    k.loop(from: emitter.index(0), to: emitter.index(depth), step: step) { start in
      emitter.scoped {
        // Stored transposed, element p of row r at p · pitch + r: the work-items of a subgroup
        // (consecutive `column`s) then read consecutive floats of w, and one float of x.
        for offset in stride(from: 0, to: chunk, by: 16) {
          let at = start + half + emitter.index(offset)
          let weightValues = widenedLoad(weights, weightRow + at, lanes: 16)
          let xValues = xBuffer.load(
            emitter.linear(aCoordinates(xCoordinates, at, layout, emitter), in: xShape), lanes: 16)
          for e in 0..<16 {
            let slot = (half + emitter.index(offset + e)) * emitter.index(pitch) + loadedRow
            wTile[slot] = weightValues.lane(e)
            xTile[slot] = xValues.lane(e)
          }
        }
        k.barrier()
        k.loop(from: emitter.index(0), to: emitter.index(step)) { p in
          emitter.scoped {
            let first = p * emitter.index(pitch)
            let xs = (0..<micro).map { i in xTile[first + emitter.index(i * side) + line] }
            let ws = (0..<micro).map { j in wTile[first + emitter.index(j * side) + column] }
            for i in 0..<micro {
              for j in 0..<micro {
                sums[i * micro + j].value = xs[i].multipliedAdding(ws[j], sums[i * micro + j].value)
              }
            }
          }
        }
        k.barrier()
      }
    }
    for i in 0..<micro {
      for j in 0..<micro {
        let row = firstRow + emitter.index(i * side) + line
        let output = firstOutput + emitter.index(j * side) + column
        k.if(row.lt(emitter.index(outer)).and(output.lt(emitter.index(n)))) {
          emitter.scoped {
            let coordinates = emitter.coordinates(of: row, in: outerShape) + [output]
            emitter.define(core.result, at: coordinates, as: sums[i * micro + j].value)
            result[row * emitter.index(n) + output] = emitter.value(root, at: coordinates)
          }
        }
      }
    }
  }
}
