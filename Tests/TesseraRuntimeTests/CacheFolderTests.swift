import Foundation
import TesseraRuntime
import Testing

/// Where Tessera keeps its caches: `TESSERA_CACHE` when set and not empty, else
/// `~/.cache/tessera`, as the README's `${TESSERA_CACHE:-~/.cache/tessera}` and the scripts say.
@Suite("The cache folder")
struct CacheFolderTests {
  @Test("TESSERA_CACHE names it; unset or empty, it is ~/.cache/tessera")
  func root() {
    let home = NSHomeDirectory() + "/.cache/tessera"
    #expect(CacheFolder.root(environment: [:]) == home)
    #expect(CacheFolder.root(environment: ["TESSERA_CACHE": ""]) == home)
    #expect(CacheFolder.root(environment: ["TESSERA_CACHE": "/srv/tessera-cache"]) == "/srv/tessera-cache")
  }
}
