"""Run in bench/.venv-embeddings: embed the JSON list of texts in argv[1] with kg.llm.local_embeddings and write the
vectors, as a JSON list of lists, to argv[2]."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.llm.local_embeddings import LocalEmbeddings  # noqa: E402


def main() -> int:
    texts = json.loads(Path(sys.argv[1]).read_text())
    vectors = LocalEmbeddings().embed_documents(texts) if texts else []
    Path(sys.argv[2]).write_text(json.dumps([[round(x, 6) for x in v] for v in vectors]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
