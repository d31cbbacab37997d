"""What tokens cost, in USD per million, from OpenAI's list prices; other models cost nothing here
(self-hosted servers), which the usage report shows as 0."""

from __future__ import annotations

from decimal import Decimal

# (input, output) per million tokens.
PRICES: dict[str, tuple[Decimal, Decimal]] = {
    "gpt-4o-mini": (Decimal("0.15"), Decimal("0.60")),
    "gpt-4o": (Decimal("2.50"), Decimal("10.00")),
    "gpt-4.1-nano": (Decimal("0.10"), Decimal("0.40")),
    "gpt-4.1-mini": (Decimal("0.40"), Decimal("1.60")),
    "gpt-4.1": (Decimal("2.00"), Decimal("8.00")),
    "gpt-5-nano": (Decimal("0.05"), Decimal("0.40")),
    "gpt-5-mini": (Decimal("0.25"), Decimal("2.00")),
    "gpt-5": (Decimal("1.25"), Decimal("10.00")),
    "gpt-3.5-turbo": (Decimal("0.50"), Decimal("1.50")),
    "text-embedding-3-small": (Decimal("0.02"), Decimal(0)),
    "text-embedding-3-large": (Decimal("0.13"), Decimal(0)),
    "text-embedding-ada-002": (Decimal("0.10"), Decimal(0)),
}
_MILLION = Decimal(1_000_000)


def price_of(model: str) -> tuple[Decimal, Decimal] | None:
    """The model's prices; a dated snapshot (`gpt-4o-mini-2024-07-18`) costs what its family does."""
    if model in PRICES:
        return PRICES[model]
    family = max((name for name in PRICES if model.startswith(name + "-")), key=len, default=None)
    return PRICES[family] if family else None


def cost(model: str, prompt_tokens: int, completion_tokens: int) -> Decimal:
    price = price_of(model)
    if price is None:
        return Decimal(0)
    return (price[0] * prompt_tokens + price[1] * completion_tokens) / _MILLION
