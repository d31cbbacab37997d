"""`cbp eval` on a small BEIR-style set, run as an operator would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.cli import cbp
from tests.retrieval.corpora import ITALIAN


def write_set(folder: Path) -> tuple[Path, Path, Path]:
    corpus = folder / "corpus.jsonl"
    corpus.write_text(
        "\n".join(
            json.dumps({"_id": key, "title": title, "text": text}) for key, (title, text) in ITALIAN.items()
        )
    )
    queries = folder / "queries.jsonl"
    questions = {
        "q1": "quanto costa la carta d'identità",
        "q2": "quando si paga la TARI",
        "q3": "prestito dei libri",
    }
    queries.write_text("\n".join(json.dumps({"_id": k, "text": v}) for k, v in questions.items()))
    qrels = folder / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nq1\tanagrafe\t1\nq2\ttributi\t1\nq3\tbiblioteca\t1\n")
    return corpus, queries, qrels


def test_eval_ingests_a_corpus_and_scores_every_mode(tmp_path: Path, env: dict[str, str]) -> None:
    created = json.loads(cbp("tenant", "create", "Comune", env=env).stdout)
    corpus, queries, qrels = write_set(tmp_path)
    kb = created["default_knowledge_base_id"]
    args = ["eval", "--kb", kb, "--queries", str(queries), "--qrels", str(qrels)]
    result = cbp(*args, "--corpus", str(corpus), env=env)
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 5}
    assert {"hybrid", "fulltext", "vector"} <= set(lines)
    for mode in ("hybrid", "fulltext"):
        cells = [cell.strip() for cell in lines[mode].split("│")]
        assert cells[2] == "3", lines[mode]  # queries
        assert float(cells[3]) == 1.0, lines[mode]  # nDCG@10
    again = cbp(*args, env=env)
    assert "hybrid" in again.stdout, "without --corpus it searches what is there"


def test_eval_refuses_bad_input(tmp_path: Path, env: dict[str, str]) -> None:
    _, queries, qrels = write_set(tmp_path)
    bad_kb = cbp("eval", "--kb", "x", "--queries", str(queries), "--qrels", str(qrels), env=env, check=False)
    assert bad_kb.returncode == 2
    assert "--kb must be" in bad_kb.stderr
    empty = tmp_path / "empty.tsv"
    empty.write_text("query-id\tcorpus-id\tscore\n")
    no_judgements = cbp(
        "eval",
        "--kb",
        "00000000-0000-0000-0000-000000000000",
        "--queries",
        str(queries),
        "--qrels",
        str(empty),
        env=env,
        check=False,
    )
    assert no_judgements.returncode == 2
    assert "judges no query" in no_judgements.stderr
    unknown = cbp(
        "eval",
        "--kb",
        "00000000-0000-0000-0000-000000000000",
        "--queries",
        str(queries),
        "--qrels",
        str(qrels),
        env=env,
        check=False,
    )
    assert unknown.returncode == 1
    assert "not found" in unknown.stderr
