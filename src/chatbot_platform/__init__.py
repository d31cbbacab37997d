"""ChatbotPlatform: self-hostable, multi-tenant RAG chatbot platform."""

import os

# numpy only multiplies small matrices here (reranking, MMR); OpenBLAS threads for them would
# contend with the local embedder's own threads on a small machine, so one thread by default.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The local embedder's OpenMP threads spin while they wait by default; on a machine whose cores
# PostgreSQL and the web process also use, a spinning thread that loses its core stalls the
# others. Measured with one core busy elsewhere: query encoding p50/p95 73/297 ms spinning,
# 27/45 ms passive; passage throughput unchanged (3.4 vs 3.5 a second).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
