import Glibc

/// libFuzzer's driver, found at run time.
///
/// `make fuzz` links `libclang_rt.fuzzer_no_main` into an ASan- and coverage-instrumented build
/// and exports `LLVMFuzzerRunDriver`; a normal build has no libFuzzer, and `tessera-fuzz` then
/// replays the files it is given. (`-sanitize=fuzzer` itself links libFuzzer's `main`, which
/// cannot coexist with this tool's subcommands.)
enum LibFuzzer {
  /// `LLVMFuzzerTestOneInput`'s signature.
  typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
  private typealias RunDriver =
    @convention(c) (
      UnsafeMutablePointer<Int32>, UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
      TestOneInput
    ) -> Int32

  /// True when this binary was linked with libFuzzer.
  static var isLinked: Bool { driver != nil }

  private static var driver: RunDriver? {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "LLVMFuzzerRunDriver") else { return nil }
    return unsafeBitCast(symbol, to: RunDriver.self)
  }

  /// Runs libFuzzer with `arguments` (the first is the program name) on `callback`; libFuzzer
  /// usually exits the process itself.
  static func run(arguments: [String], callback: TestOneInput) -> Int32 {
    guard let driver else { return 1 }
    var pointers: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    var count = Int32(arguments.count)
    return pointers.withUnsafeMutableBufferPointer { buffer in
      var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = buffer.baseAddress
      return driver(&count, &argv, callback)
    }
  }
}
