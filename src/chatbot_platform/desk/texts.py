"""What the desk tells visitors and tenants, in Italian and English."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "queued": {
        "it": "Ti metto in contatto con un operatore: attendi qualche istante.",
        "en": "Connecting you with an operator: please wait a moment.",
    },
    "taken": {
        "it": "{operator} si è unito alla conversazione.",
        "en": "{operator} joined the conversation.",
    },
    "unavailable": {
        "it": "Al momento nessun operatore è disponibile. Lasciaci i tuoi contatti e ti ricontatteremo.",
        "en": "No operator is available right now. Leave your details and we will get back to you.",
    },
    "timed_out": {
        "it": (
            "Ci dispiace, nessun operatore ha potuto rispondere. "
            "Lasciaci i tuoi contatti e ti ricontatteremo."
        ),
        "en": "Sorry, no operator could answer. Leave your details and we will get back to you.",
    },
    "released": {
        "it": "L'operatore ha lasciato la conversazione: ora ti risponde di nuovo l'assistente virtuale.",
        "en": "The operator left the conversation: the virtual assistant answers again.",
    },
    "closed": {
        "it": "La conversazione con l'operatore è terminata. Grazie!",
        "en": "The conversation with the operator has ended. Thank you!",
    },
    "offer": {
        "it": "Non ho trovato una risposta. Vuoi parlare con un operatore?",
        "en": "I could not find an answer. Would you like to talk to a person?",
    },
    "handoff_subject": {
        "it": "Nuova richiesta di operatore",
        "en": "New request for an operator",
    },
    "handoff_body": {
        "it": "Un visitatore chiede un operatore (conversazione {conversation}).\n",
        "en": "A visitor asks for an operator (conversation {conversation}).\n",
    },
    "console_link": {
        "it": "\nApri la console: {url}\n",
        "en": "\nOpen the console: {url}\n",
    },
    "submission_subject": {
        "it": "Nuovo invio del modulo «{form}»",
        "en": "New submission of the form “{form}”",
    },
    "confirmation_subject": {
        "it": "Abbiamo ricevuto la tua richiesta",
        "en": "We received your request",
    },
    "confirmation_body": {
        "it": "Grazie! Abbiamo ricevuto la tua richiesta «{form}» e ti risponderemo al più presto.\n",
        "en": "Thank you! We received your request “{form}” and will get back to you soon.\n",
    },
}


def text(key: str, language: str, **values: str) -> str:
    variants = TEXTS[key]
    template = variants.get(language) or variants["en"]
    return template.format(**values) if values else template
