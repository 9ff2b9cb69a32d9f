#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A shared library opened with `dlopen`: how Tessera reaches the OpenCL ICD loader and the
/// Vulkan loader without linking them, so a machine without a driver still starts.
///
/// Thread safety: immutable after `init`; `dlsym` is thread-safe, so the type is `Sendable`.
public final class DynamicLibrary: @unchecked Sendable {
  /// The name it was opened by.
  public let name: String
  private let handle: UnsafeMutableRawPointer

  /// Opens the first of `names` that loads; throws the last `dlerror` text when none does.
  public init(firstOf names: [String]) throws(DynamicLibraryError) {
    var lastError = "no candidate names"
    for name in names {
      if let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) {
        self.name = name
        self.handle = handle
        return
      }
      lastError = dlerror().map { String(cString: $0) } ?? "dlopen(\(name)) failed"
    }
    throw DynamicLibraryError(message: lastError)
  }

  /// The address of `symbol`, or `nil` when the library does not export it.
  public func symbol(_ symbol: String) -> UnsafeMutableRawPointer? { dlsym(handle, symbol) }

  /// The function `symbol` as the C function type `T`, or `nil`.
  public func function<T>(_ symbol: String, as type: T.Type) -> T? {
    self.symbol(symbol).map { unsafeBitCast($0, to: type) }
  }

  deinit { dlclose(handle) }
}

/// Why a shared library could not be opened (the `dlerror` text).
public struct DynamicLibraryError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The loader's message.
  public var message: String
  /// The loader's message.
  public var description: String { message }
}
