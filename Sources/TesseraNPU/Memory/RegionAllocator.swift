/// First-fit allocation of aligned byte ranges in one address space of fixed capacity: a freed
/// range merges with free neighbours, and the high-water mark (``end``) drops when the top range
/// is freed. Not thread-safe: its owner locks.
struct RegionAllocator {
  /// Bytes of address space.
  let capacity: Int
  /// Every range starts at a multiple of this and is sized up to one.
  let alignment: Int
  /// One past the highest byte in use (or free below it).
  private(set) var end = 0
  /// Bytes in the ranges handed out, after rounding.
  private(set) var bytesInUse = 0
  /// Free ranges below ``end``: sorted, disjoint and never adjacent.
  private(set) var free: [Range<Int>] = []

  /// An empty address space.
  init(capacity: Int, alignment: Int) {
    precondition(alignment > 0 && capacity >= 0)
    self.capacity = capacity
    self.alignment = alignment
  }

  /// The bytes a request of `bytes` takes: at least one alignment unit.
  func footprint(of bytes: Int) -> Int { (Swift.max(bytes, 1) + alignment - 1) / alignment * alignment }

  /// The start of a new range of `bytes`, or `nil` when no free range and no space above
  /// ``end`` holds it.
  mutating func allocate(_ bytes: Int) -> Int? {
    let size = footprint(of: bytes)
    if let index = free.firstIndex(where: { $0.count >= size }) {
      let start = free[index].lowerBound
      if free[index].count == size {
        free.remove(at: index)
      } else {
        free[index] = (start + size)..<free[index].upperBound
      }
      bytesInUse += size
      return start
    }
    let start = free.last.map { $0.upperBound == end ? $0.lowerBound : end } ?? end
    guard size <= capacity - start else { return nil }
    if start < end { free.removeLast() }
    end = start + size
    bytesInUse += size
    return start
  }

  /// Gives back the range that ``allocate(_:)`` returned at `start` for `bytes`.
  mutating func release(_ start: Int, bytes: Int) {
    var range = start..<(start + footprint(of: bytes))
    bytesInUse -= range.count
    var index = free.firstIndex { $0.lowerBound > start } ?? free.count
    if index < free.count, free[index].lowerBound == range.upperBound {
      range = range.lowerBound..<free.remove(at: index).upperBound
    }
    if index > 0, free[index - 1].upperBound == range.lowerBound {
      index -= 1
      range = free.remove(at: index).lowerBound..<range.upperBound
    }
    if range.upperBound == end {
      end = range.lowerBound
    } else {
      free.insert(range, at: index)
    }
  }
}
