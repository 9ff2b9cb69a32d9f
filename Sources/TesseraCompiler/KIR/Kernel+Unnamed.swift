extension Kernel {
  /// The name every kernel has in its ``unnamed`` form.
  public static let unnamedName = "kernel_body"

  /// The kernel without what only labels it: named ``unnamedName``, with no comment.
  ///
  /// The graph compiler names each step's kernel after the step (`k391_matmul`), so the kernels
  /// of a model's repeated layers differ only in name. Kernels equal in this form compute the
  /// same thing from the same arguments, so a backend builds one program or pipeline per
  /// distinct unnamed kernel and caches it under that form, for every graph and process.
  public var unnamed: Kernel {
    var unnamed = self
    unnamed.name = Self.unnamedName
    unnamed.comment = ""
    return unnamed
  }
}
