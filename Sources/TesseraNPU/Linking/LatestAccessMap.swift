/// For each byte of one memory, the position (an index in the linked program) of the latest
/// instruction that accessed it, kept as disjoint sorted segments.
struct LatestAccessMap {
  private var segments: [(bytes: Range<Int>, position: Int)] = []

  /// The latest position recorded for any byte of `bytes`, or `nil` if none was.
  func latest(in bytes: Range<Int>) -> Int? {
    var result: Int?
    var index = firstSegment(endingAfter: bytes.lowerBound)
    while index < segments.count && segments[index].bytes.lowerBound < bytes.upperBound {
      result = Swift.max(result ?? segments[index].position, segments[index].position)
      index += 1
    }
    return result
  }

  /// Whether every byte of `bytes` has a recorded access.
  func covers(_ bytes: Range<Int>) -> Bool {
    var next = bytes.lowerBound
    var index = firstSegment(endingAfter: bytes.lowerBound)
    while next < bytes.upperBound, index < segments.count, segments[index].bytes.lowerBound <= next {
      next = segments[index].bytes.upperBound
      index += 1
    }
    return next >= bytes.upperBound
  }

  /// Records `position` as the latest access of every byte of `bytes`.
  mutating func record(_ bytes: Range<Int>, at position: Int) {
    guard !bytes.isEmpty else { return }
    let first = firstSegment(endingAfter: bytes.lowerBound)
    var last = first
    var kept: [(bytes: Range<Int>, position: Int)] = []
    while last < segments.count && segments[last].bytes.lowerBound < bytes.upperBound {
      let old = segments[last]
      if old.bytes.lowerBound < bytes.lowerBound {
        kept.append((old.bytes.lowerBound..<bytes.lowerBound, old.position))
      }
      last += 1
    }
    kept.append((bytes, position))
    if last > first, segments[last - 1].bytes.upperBound > bytes.upperBound {
      kept.append((bytes.upperBound..<segments[last - 1].bytes.upperBound, segments[last - 1].position))
    }
    segments.replaceSubrange(first..<last, with: kept)
  }

  /// The index of the first segment whose end is above `byte`.
  private func firstSegment(endingAfter byte: Int) -> Int {
    var (low, high) = (0, segments.count)
    while low < high {
      let middle = (low + high) / 2
      if segments[middle].bytes.upperBound <= byte { low = middle + 1 } else { high = middle }
    }
    return low
  }
}
