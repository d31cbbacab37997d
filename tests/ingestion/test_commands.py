"""`cbp ingest`, `cbp kb audit` and `cbp queue` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.cli import cbp


def test_ingest_a_folder_then_rerun_skips_unchanged_files_and_the_audit_is_clean(
    tmp_path: Path,
    env: dict[str, str],
) -> None:
    created = json.loads(cbp("tenant", "create", "Biblioteca", env=env).stdout)
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "orari.md").write_text("# Orari\n\nAperto dal lunedì al sabato.")
    (folder / "sub" / "regole.txt").write_text("Si possono prendere in prestito tre libri.")
    (folder / ".hidden.txt").write_text("non va indicizzato")
    (folder / "rotto.pdf").write_bytes(b"%PDF-1.4 broken")
    first = cbp("ingest", str(folder), "--kb", created["default_knowledge_base_id"], env=env, check=False)
    assert first.returncode == 1, "a failed file makes the command fail"
    assert "2 indexed" in first.stdout
    assert "1 failed" in first.stdout
    assert "rotto.pdf" in first.stdout
    (folder / "rotto.pdf").unlink()
    again = cbp("ingest", str(folder), "--kb", created["default_knowledge_base_id"], env=env)
    assert "2 unchanged" in again.stdout
    audit = cbp("kb", "audit", env=env)
    assert "no orphans" in audit.stdout
    status = cbp("queue", "status", env=env)
    assert "ingestion" in status.stdout
    assert "No" not in cbp("queue", "failed", env=env).stderr


def test_ingest_refuses_bad_arguments(tmp_path: Path, env: dict[str, str]) -> None:
    missing_kb = cbp("ingest", str(tmp_path), "--kb", "not-a-uuid", env=env, check=False)
    assert (missing_kb.returncode, "--kb must be" in missing_kb.stderr) == (2, True)
    (tmp_path / "a.txt").write_text("x")
    unknown_kb = cbp(
        "ingest",
        str(tmp_path / "a.txt"),
        "--kb",
        "00000000-0000-0000-0000-000000000000",
        env=env,
        check=False,
    )
    assert unknown_kb.returncode == 1
    assert "not found" in unknown_kb.stderr
    nowhere = cbp(
        "ingest", str(tmp_path / "nope"), "--kb", "00000000-0000-0000-0000-000000000000", env=env, check=False
    )
    assert nowhere.returncode == 2
    bad_queue = cbp("worker", "--queue", "nope", env=env, check=False)
    assert bad_queue.returncode == 2
    assert "unknown queue" in bad_queue.stderr


def test_audit_finds_chunks_without_vectors_and_fix_repairs_them(
    tmp_path: Path,
    env: dict[str, str],
    database_url: str,
) -> None:
    import asyncio

    import asyncpg

    created = json.loads(cbp("tenant", "create", "Archivio", env=env).stdout)
    (tmp_path / "a.txt").write_text("Primo paragrafo.\n\nSecondo paragrafo.")
    cbp("ingest", str(tmp_path / "a.txt"), "--kb", created["default_knowledge_base_id"], env=env)

    async def drop_vectors() -> None:
        dsn = database_url.replace("postgresql://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                "UPDATE chunks SET embedding = NULL, embedding_model = NULL, embedding_dim = NULL"
            )
        finally:
            await conn.close()

    asyncio.run(drop_vectors())
    broken = cbp("kb", "audit", env=env, check=False)
    assert broken.returncode == 1
    assert "run with --fix" in broken.stdout
    cbp("kb", "audit", "--fix", env=env)
    assert "no orphans" in cbp("kb", "audit", env=env).stdout
