"""Operations: liveness, health, and (later) metrics and maintenance."""
