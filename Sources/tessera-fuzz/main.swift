import Foundation

// tessera-fuzz: the fuzz targets for Tessera's parsers of hostile input (DESIGN.md, "Errors").
// `make fuzz` builds it with libFuzzer and AddressSanitizer and runs every target for
// FUZZ_SECONDS; without libFuzzer it replays files, so a crash file can be checked in any build.

let usage = """
  USAGE: tessera-fuzz TARGET [libFuzzer options] [CORPUS_DIR | FILE]...
         tessera-fuzz seeds DIR

  TARGETS: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: " "))

  Built by `make fuzz` (libFuzzer + AddressSanitizer), TARGET runs libFuzzer on the corpus
  folders given. In a normal build it replays every FILE (and every file in each folder) once.
  `seeds DIR` writes the seed corpus to DIR/TARGET/.
  """

/// Runs every file named by `paths` (folders: each file in them) through `target` once.
func replay(_ target: FuzzTarget, _ paths: [String]) -> Int32 {
  var count = 0
  for path in paths where !path.hasPrefix("-") {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      FileHandle.standardError.write(Data("tessera-fuzz: no such file '\(path)'\n".utf8))
      return 2
    }
    let files =
      isFolder.boolValue
      ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 } : [path]
    for file in files {
      guard let data = FileManager.default.contents(atPath: file) else { continue }
      target.run([UInt8](data))
      count += 1
    }
  }
  print("tessera-fuzz: \(target.rawValue): replayed \(count) input(s) without libFuzzer; no crash")
  return 0
}

let arguments = CommandLine.arguments
if arguments.count == 3, arguments[1] == "seeds" {
  do {
    try SeedCorpus.write(to: arguments[2])
  } catch {
    FileHandle.standardError.write(Data("tessera-fuzz: \(error)\n".utf8))
    exit(2)
  }
} else if arguments.count >= 2, let target = FuzzTarget(rawValue: arguments[1]) {
  let rest = Array(arguments.dropFirst(2))
  exit(
    LibFuzzer.isLinked
      ? LibFuzzer.run(arguments: [arguments[0]] + rest, callback: target.callback) : replay(target, rest))
} else {
  FileHandle.standardError.write(Data((usage + "\n").utf8))
  exit(2)
}
