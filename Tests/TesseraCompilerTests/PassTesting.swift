import TesseraCompiler
import TesseraIR
import TesseraTestSupport

/// Helpers for before/after tests of one pass on `.tir` text.
enum PassTesting {
  /// The printed graph after running `pass` on `text` (through ``PassManager``, which verifies it).
  static func run(_ pass: any GraphPass, on text: String) throws -> String {
    Printer.print(try PassManager([pass]).run(try TestSupport.parseOne(text)))
  }

  /// `text` parsed and printed in canonical form.
  static func canonical(_ text: String) throws -> String {
    Printer.print(try TestSupport.parseOne(text))
  }
}
