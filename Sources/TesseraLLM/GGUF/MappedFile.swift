import Glibc
import TesseraIR

/// A whole file mapped read-only into memory; the mapping lives as long as this object.
///
/// `@unchecked Sendable`: the mapping is `PROT_READ` and never changes after `init`, so any
/// number of threads may read it; `deinit` unmaps it when the last reference goes.
final class MappedFile: FileBackedMemory, @unchecked Sendable {
  /// The file's bytes.
  let bytes: UnsafeRawBufferPointer

  /// Maps `path`; an empty file gives an empty buffer.
  init(path: String) throws(GGUFError) {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else { throw .cannotOpen(path: path, reason: "not a regular file") }
    let size = Int(status.st_size)
    guard size > 0 else {
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
      throw .cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
    }
    bytes = UnsafeRawBufferPointer(start: address, count: size)
  }

  /// Drops every page that `range` touches (`MADV_DONTNEED`: a private, never-written file
  /// mapping reads them from the file again when next touched), and marks the pages wholly inside
  /// it for random access (`MADV_RANDOM`), so that a later touch, such as an embedding row
  /// gathered from a matrix that was also repacked into tiles, brings back little around it
  /// (SmolLM2's `generate` held about 5 MiB of such pages).
  ///
  /// A page that `range` shares with a neighbour is dropped too (keeping them left about 1 MiB of
  /// SmolLM2's tensor boundaries resident), but keeps its flags: the kernel then holds the
  /// mapping as separate areas (VMAs) split at those pages. That matters: when a file's page cache
  /// holds large folios (ext4 on Linux 6.18: up to 2 MiB) and a touched one lies wholly inside
  /// one area, the whole folio is mapped at once; with the released ranges merged into one area,
  /// the norm weights read in each decode step brought 16 MiB of released SmolLM2 weights back.
  func releasePages(in range: UnsafeRawBufferPointer) {
    guard let start = range.baseAddress, let base = bytes.baseAddress, range.count > 0 else { return }
    let address = Int(bitPattern: start), end = address + range.count
    guard address >= Int(bitPattern: base), end <= Int(bitPattern: base) + bytes.count else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let outerStart = address / page * page, outerEnd = (end + page - 1) / page * page
    let innerStart = (address + page - 1) / page * page, innerEnd = end / page * page
    madvise(UnsafeMutableRawPointer(bitPattern: outerStart), outerEnd - outerStart, MADV_DONTNEED)
    if innerStart < innerEnd {
      madvise(UnsafeMutableRawPointer(bitPattern: innerStart), innerEnd - innerStart, MADV_RANDOM)
    }
  }

  deinit {
    if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
  }
}
