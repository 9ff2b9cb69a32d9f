import TesseraRuntime
import Testing

/// Builds on a few threads give the results and the error of builds in order.
@Suite("Parallel builds")
struct ParallelBuildsTests {
  /// A build that fails for some indices.
  struct BuildFailure: Error, Equatable {
    let index: Int
  }

  @Test("results in index order", arguments: [1, 2, 5])
  func resultsInOrder(threads: Int) throws {
    let squares = try ParallelBuilds.map(count: 40, threads: threads) { index throws(BuildFailure) in index * index }
    #expect(squares == (0..<40).map { $0 * $0 })
  }

  @Test("the lowest failing index's error", arguments: [1, 2, 5])
  func lowestFailure(threads: Int) {
    let started = Locked<Set<Int>>([])
    #expect(throws: BuildFailure(index: 7)) {
      _ = try ParallelBuilds.map(count: 40, threads: threads) { index throws(BuildFailure) in
        started.withLock { _ = $0.insert(index) }
        if index == 7 || index == 19 || index == 30 { throw BuildFailure(index: index) }
        return index
      }
    }
    let seen = started.withLock { $0 }
    #expect(seen.isSuperset(of: 0...7), "every index before the failure was built")
    #expect(seen.count < 40, "no index after the failure started once every thread saw it")
  }

  @Test func oneThreadStopsAtTheFirstFailure() {
    let started = Locked(0)
    #expect(throws: BuildFailure(index: 3)) {
      _ = try ParallelBuilds.map(count: 10, threads: 1) { index throws(BuildFailure) in
        started.withLock { $0 += 1 }
        if index >= 3 { throw BuildFailure(index: index) }
        return index
      }
    }
    #expect(started.withLock { $0 } == 4)
  }

  @Test func nothingToBuild() throws {
    #expect(try ParallelBuilds.map(count: 0) { index throws(BuildFailure) in index }.isEmpty)
  }
}
