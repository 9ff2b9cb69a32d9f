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

  /// Drops the whole pages inside `range` (`MADV_DONTNEED`: a private, never-written file
  /// mapping reads them from the file again when next touched) and marks them for random access
  /// (`MADV_RANDOM`), so that a later touch, such as an embedding row gathered from a matrix
  /// that was also repacked into tiles, brings back its own page and no read-ahead around it
  /// (SmolLM2's `generate` held about 5 MiB of such pages).
  func releasePages(in range: UnsafeRawBufferPointer) {
    guard let start = range.baseAddress, let base = bytes.baseAddress else { return }
    let page = Int(sysconf(Int32(_SC_PAGESIZE)))
    let first = (Int(bitPattern: start) + page - 1) / page * page
    let end = (Int(bitPattern: start) + range.count) / page * page
    guard first < end, first >= Int(bitPattern: base), end <= Int(bitPattern: base) + bytes.count else { return }
    madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED)
    madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_RANDOM)
  }

  deinit {
    if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
  }
}
