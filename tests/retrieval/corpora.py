"""Small hand-made corpora in Italian and English, and a helper that indexes them through the API."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.factories import TenantWithKey

ITALIAN = {
    "anagrafe": (
        "Carta d'identità elettronica",
        "La carta d'identità elettronica si richiede all'ufficio anagrafe del Comune su appuntamento. "
        "Servono una fotografia recente e la tessera sanitaria. Il costo è di 22 euro.",
    ),
    "rifiuti": (
        "Raccolta differenziata",
        "La raccolta dei rifiuti è porta a porta: la carta si espone il lunedì, la plastica il mercoledì, "
        "l'umido il martedì e il venerdì. I rifiuti ingombranti si ritirano su prenotazione.",
    ),
    "tributi": (
        "Tassa sui rifiuti (TARI)",
        "La TARI si paga in due rate, a maggio e a novembre, con il modello F24 inviato a casa. "
        "Le famiglie con ISEE basso possono chiedere una riduzione all'ufficio tributi.",
    ),
    "biblioteca": (
        "Biblioteca civica",
        "La biblioteca civica presta libri, riviste e film. Il prestito dura trenta giorni ed è gratuito "
        "per i residenti. La sala studio è aperta anche il sabato mattina.",
    ),
    "scuola": (
        "Iscrizione alla mensa scolastica",
        "L'iscrizione alla mensa scolastica si fa online entro il 30 giugno. Le tariffe dipendono "
        "dall'ISEE della famiglia; i pasti per diete speciali richiedono un certificato medico.",
    ),
}

ENGLISH = {
    "passport": (
        "Passport renewal",
        "To renew a passport, book an appointment at the police headquarters, bring two photographs "
        "and the old passport. The fee is paid online before the appointment.",
    ),
    "parking": (
        "Resident parking permits",
        "Residents of the historic centre can apply for a parking permit. The permit costs 40 euros per "
        "year and is valid for one car registered at the resident's address.",
    ),
    "library": (
        "Public library",
        "The public library lends books, magazines and films. Loans last thirty days and are free "
        "for residents. The reading room also opens on Saturday mornings.",
    ),
    "waste": (
        "Waste collection",
        "Waste is collected door to door: paper on Mondays, plastic on Wednesdays and organic waste "
        "on Tuesdays and Fridays. Bulky items are collected by appointment.",
    ),
}


async def index_corpus(
    client: httpx.AsyncClient,
    tenant: TenantWithKey,
    corpus: dict[str, tuple[str, str]],
    *,
    knowledge_base_id: str | None = None,
    patience: float = 120,
) -> dict[str, str]:
    """Upload every (title, text) as a text document and wait until all are indexed; external id -> id."""
    kb = knowledge_base_id or tenant.default_kb_id
    documents = [
        {"knowledge_base_id": kb, "title": title, "text": body, "external_id": external_id}
        for external_id, (title, body) in corpus.items()
    ]
    response = await client.post(
        "/api/v1/documents/batch", json={"documents": documents}, headers=tenant.headers
    )
    assert response.status_code == 207, response.text
    ids = {
        doc["external_id"]: result["id"]
        for doc, result in zip(documents, response.json()["results"], strict=True)
    }
    deadline = asyncio.get_running_loop().time() + patience
    for document_id in ids.values():
        while True:
            body = (await client.get(f"/api/v1/documents/{document_id}", headers=tenant.headers)).json()
            if body["status"] == "indexed":
                break
            assert body["status"] != "failed", body
            assert asyncio.get_running_loop().time() < deadline, f"not indexed in time: {body}"
            await asyncio.sleep(0.1)
    return ids


async def search(
    client: httpx.AsyncClient, tenant: TenantWithKey, query: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/retrieval/search", json={"query": query, **fields}, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def external_ids(body: dict[str, Any]) -> list[str | None]:
    return [result["external_id"] for result in body["results"]]
