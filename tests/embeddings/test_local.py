"""The offline multilingual-e5-small embedder."""

from __future__ import annotations

import asyncio
import math

from chatbot_platform.embeddings.base import Embedder
from chatbot_platform.embeddings.local import LocalE5Embedder

PASSAGES = [
    "Il negozio è aperto dal lunedì al sabato, dalle nove alle diciannove; la domenica è chiuso.",
    "La carbonara si prepara con uova, guanciale, pecorino romano e pepe nero, senza panna.",
    "Per restituire un prodotto compila il modulo di reso entro trenta giorni dall'acquisto.",
]


def dot(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def test_it_names_the_model_and_its_dimension() -> None:
    embedder: Embedder = LocalE5Embedder()
    assert embedder.model == "multilingual-e5-small"
    assert embedder.dim == 384


async def test_vectors_have_384_dimensions_and_unit_length() -> None:
    embedder = LocalE5Embedder()
    vectors = [*await embedder.embed_passages(PASSAGES), await embedder.embed_query("orari di apertura")]
    assert [len(v) for v in vectors] == [384] * 4
    for vector in vectors:
        assert math.isclose(dot(vector, vector), 1.0, rel_tol=1e-4)


async def test_query_and_passage_roles_give_different_vectors() -> None:
    embedder = LocalE5Embedder()
    text = "orari di apertura del negozio"
    [as_passage] = await embedder.embed_passages([text])
    as_query = await embedder.embed_query(text)
    assert dot(as_passage, as_query) < 0.999


async def test_an_italian_query_is_closest_to_the_passage_that_answers_it() -> None:
    embedder = LocalE5Embedder()
    hours, recipe, returns = await embedder.embed_passages(PASSAGES)
    query = await embedder.embed_query("A che ora apre il negozio il sabato?")
    assert dot(query, hours) > dot(query, recipe)
    assert dot(query, hours) > dot(query, returns)
    query = await embedder.embed_query("Come faccio a rendere un articolo?")
    assert dot(query, returns) > max(dot(query, hours), dot(query, recipe))


async def test_batched_results_equal_one_at_a_time_results_in_input_order() -> None:
    texts = [*PASSAGES, "Spedizione gratuita sopra i cinquanta euro.", ""]
    batched = await LocalE5Embedder(batch_size=2).embed_passages(texts)
    single = [(await LocalE5Embedder().embed_passages([t]))[0] for t in texts]
    assert len(batched) == len(texts)
    for one, other in zip(batched, single, strict=True):
        assert dot(one, other) > 0.9999


async def test_no_texts_give_no_vectors() -> None:
    assert await LocalE5Embedder().embed_passages([]) == []


async def test_embedding_runs_off_the_event_loop() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await LocalE5Embedder(batch_size=4).embed_passages(PASSAGES * 3)
    finally:
        task.cancel()
    assert ticks >= 5


async def test_concurrent_callers_get_the_same_vectors_as_sequential_ones() -> None:
    embedder = LocalE5Embedder()
    queries = ["orari", "carbonara", "reso", "spedizione"]
    together = await asyncio.gather(*(embedder.embed_query(q) for q in queries))
    one_by_one = [await embedder.embed_query(q) for q in queries]
    for one, other in zip(together, one_by_one, strict=True):
        assert dot(one, other) > 0.9999
