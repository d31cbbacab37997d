"""Precomputed multilingual-e5-small vectors for the benchmark corpora, keyed by content hash.

The local embedder needs about 35 minutes on 2 cores for scifact's 5,183 abstracts, which would
make every retrieval benchmark run that long. This script chunks each corpus exactly as the
ingestion pipeline does (default RAG_CHUNK_* limits, the same embedding input and content hash),
embeds every chunk once with the same model and saves `bench/.cache/<corpus>-e5.npz`. The
retrieval benchmark loads the file into the tenant's embedding cache before uploading, so the
pipeline stores these vectors instead of recomputing identical ones. Resumable: rerun to continue.

    python bench/e5_vectors.py squad_it scifact
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / ".cache"
SAVE_EVERY = 256


def cache_path(corpus: str) -> Path:
    return CACHE / f"{corpus}-e5.npz"


def corpus_inputs(corpus: str) -> Iterator[tuple[str, str]]:
    """(content hash, embedding input) of every chunk the pipeline makes from the corpus."""
    from chatbot_platform.ingestion.chunking import chunk_document
    from chatbot_platform.ingestion.parsing import parse
    from chatbot_platform.ingestion.pipeline import content_hash, embedding_input
    from chatbot_platform.settings import load_settings

    rag = load_settings(env_file=None).rag
    overlap = min(rag.chunk_overlap_chars, rag.chunk_max_chars // 2)
    with (DATA / corpus / "corpus.jsonl").open() as lines:
        for line in lines:
            doc = json.loads(line)
            title = doc.get("title") or doc["_id"]
            parsed = parse(doc["text"].encode(), "content.txt", "text/plain")
            for draft in chunk_document(parsed, max_chars=rag.chunk_max_chars, overlap_chars=overlap):
                value = embedding_input(title, draft.heading_path, draft.text)
                yield content_hash(value), value


def load(corpus: str) -> dict[str, np.ndarray]:
    path = cache_path(corpus)
    if not path.exists():
        return {}
    with np.load(path) as data:
        return dict(zip(data["hashes"].tolist(), data["vectors"], strict=True))


def save(corpus: str, vectors: dict[str, np.ndarray]) -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    hashes = list(vectors)
    tmp = cache_path(corpus).with_suffix(".tmp.npz")
    np.savez(tmp, hashes=np.array(hashes), vectors=np.stack([vectors[h] for h in hashes]).astype(np.float32))
    tmp.replace(cache_path(corpus))


def build(corpus: str) -> None:
    from chatbot_platform.embeddings.local import _encode

    vectors = load(corpus)
    todo = dict(corpus_inputs(corpus))
    missing = [(h, v) for h, v in todo.items() if h not in vectors]
    print(f"{corpus}: {len(todo)} chunks, {len(missing)} to embed", flush=True)
    started, done = time.perf_counter(), 0
    for start in range(0, len(missing), 16):
        batch = missing[start : start + 16]
        for (hash_, _), vector in zip(batch, _encode([v for _, v in batch], is_query=False), strict=True):
            vectors[hash_] = np.asarray(vector, dtype=np.float32)
        done += len(batch)
        if done % SAVE_EVERY < 16 or done == len(missing):
            save(corpus, vectors)
            rate = done / (time.perf_counter() - started)
            print(f"{corpus}: {done}/{len(missing)} ({rate:.1f}/s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpora", nargs="+", choices=["squad_it", "scifact"])
    for corpus in parser.parse_args().corpora:
        build(corpus)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
