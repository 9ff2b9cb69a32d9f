import TesseraIR
import Testing

@testable import TesseraCPU

/// ``NativeStridedKernel/coalesced(dims:views:)`` against hand-derived merges: neighbouring axes
/// merge only where every view steps through them as through one axis.
@Suite("Strided kernels coalesce neighbouring axes")
struct StridedCoalescingTests {
  @Test func squeezeAndExcitationMultiplyBecomesRowsOfPlanes() {
    let dims = [1, 6, 9, 11]
    let x = StridedView(contiguous: Shape(dims))
    let gate = StridedView(contiguous: Shape([1, 6, 1, 1])).broadcast(to: dims)
    let (merged, views) = NativeStridedKernel.coalesced(dims: dims, views: [x, gate])
    #expect(merged == [6, 99])
    #expect(views.map(\.strides) == [[99, 1], [1, 0]])
    #expect(views.allSatisfy { $0.dims == [6, 99] })
  }

  @Test func contiguousOperandsBecomeOneRow() {
    let dims = [2, 3, 4]
    let (merged, views) = NativeStridedKernel.coalesced(
      dims: dims, views: [StridedView(contiguous: Shape(dims)), StridedView(contiguous: Shape(dims), offset: 5)])
    #expect(merged == [24])
    #expect(views.map(\.strides) == [[1], [1]])
    #expect(views.map(\.offset) == [0, 5])
  }

  @Test func aColumnBroadcastKeepsItsAxes() {
    // [3, 4] plus a [3, 1] column: the column's strides [1, 0] step through the pair as two axes.
    let column = StridedView(contiguous: Shape([3, 1])).broadcast(to: [3, 4])
    let (merged, views) = NativeStridedKernel.coalesced(
      dims: [3, 4], views: [StridedView(contiguous: Shape([3, 4])), column])
    #expect(merged == [3, 4])
    #expect(views.map(\.strides) == [[4, 1], [1, 0]])
  }
}
