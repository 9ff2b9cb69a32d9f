import Tessera
import Testing

/// The pre-tokenizers `tokenizer.ggml.pre` names, against splits derived by hand from each
/// pattern's alternatives.
@Suite struct PreTokenizerTests {
  static let sample = "Hello world! It's 12345 apples.\n\n  ok"

  @Test(
    "splits of the sample text",
    arguments: [
      (
        "llama-bpe",
        ["Hello", " world", "!", " It", "'s", " ", "123", "45", " apples", ".\n\n", " ", " ok"]
      ),
      (
        "qwen2",
        ["Hello", " world", "!", " It", "'s", " ", "1", "2", "3", "4", "5", " apples", ".\n\n", " ", " ok"]
      ),
      ("gpt2", ["Hello", " world", "!", " It", "'s", " 12345", " apples", ".", "\n\n ", " ok"]),
      (
        "smollm",
        ["Hello", " world", "!", " It", "'s", " ", "1", "2", "3", "4", "5", " apples", ".", "\n\n ", " ok"]
      ),
    ])
  func splitsTheSample(_ name: String, _ expected: [String]) throws {
    #expect(try PreTokenizer(ggufName: name).split(Self.sample) == expected)
  }

  @Test func llama3ContractionsIgnoreCaseAndGlueOneSymbolToLetters() throws {
    let llama3 = try PreTokenizer(ggufName: "llama3")
    #expect(llama3.split("I'M (fine)") == ["I", "'M", " (", "fine", ")"])
    #expect(try PreTokenizer(ggufName: "gpt2").split("I'M (fine)") == ["I", "'", "M", " (", "fine", ")"])
    #expect(llama3.split("x\n\ty") == ["x", "\n", "\ty"])
    #expect(llama3.split("a  \n b") == ["a", "  \n", " b"])
    #expect(llama3.split("1234567") == ["123", "456", "7"])
  }

  @Test func namesMapToStylesAndUnknownNamesAreErrors() throws {
    #expect(try PreTokenizer(ggufName: nil).style == .gpt2)
    #expect(try PreTokenizer(ggufName: "default").style == .gpt2)
    #expect(try PreTokenizer(ggufName: "llama-v3").style == .llama3)
    #expect(throws: TokenizerError.unsupportedPreTokenizer("deepseek-llm")) {
      try PreTokenizer(ggufName: "deepseek-llm")
    }
    #expect(
      TokenizerError.unsupportedPreTokenizer("x").description
        == "pre-tokenizer 'x' (tokenizer.ggml.pre) is not supported (supported: \(PreTokenizer.supportedNames))")
  }
}
